// Named network namespaces, the way iproute2 keeps them (a bind mount of the namespace in
// /run/netns/NAME, so `ip netns` and `ip -n` see ours), and running code inside one.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"

namespace nt::kernel {

// Creates /run/netns/NAME holding a new, empty network namespace (loopback down).
// Fails with conflict (EEXIST) if it is there.
Status create_namespace(const std::string& name);
// Unmounts and removes it (the kernel frees it once no process is inside).
Status delete_namespace(const std::string& name);
bool namespace_exists(const std::string& name);
// Names under /run/netns that start with prefix, sorted.
std::vector<std::string> list_namespaces(const std::string& prefix);

// Runs fn on a thread that has entered the namespace: sockets it opens (netlink, sysctl
// files in /proc/sys/net) belong to that namespace. The calling thread is untouched.
Status run_in_namespace(const std::string& name, const std::function<Status()>& fn);
// Moves the calling thread (single-threaded processes: the process) into the namespace;
// for exec'ing a command or an agent there.
Status enter_namespace(const std::string& name);
// An open fd of the namespace (caller closes), e.g. to create a veth peer inside it.
Result<int> open_namespace(const std::string& name);

// Writes a sysctl of the current thread's namespace: "net/ipv4/ip_forward" = "1".
Status write_sysctl(const std::string& key, const std::string& value);
Result<std::string> read_sysctl(const std::string& key);  // trailing newline dropped

}  // namespace nt::kernel
