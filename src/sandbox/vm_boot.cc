#include "sandbox/vm_boot.h"

#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "common/json_get.h"
#include "sandbox/state.h"

namespace nt::sandbox {
namespace fs = std::filesystem;

namespace {

// udhcpc's script: what a cloud image's DHCP client does with a lease. Every event's
// variables are recorded; on bound/renew eth0 gets the address, MTU and routes (option 121
// when given, which replaces the router option as RFC 3442 says). The event's file appears
// only once the lease is applied, so a reader of lease.renew sees the new routes in place.
constexpr const char* kScript = R"SH(#!/bin/sh
dir="$(dirname "$0")"
event="$1"
env | grep -E '^(ip|subnet|mask|router|dns|domain|hostname|mtu|staticroutes|msstaticroutes|lease|serverid|siaddr|boot_file|tftp|opt[0-9]+)=' | sort > "$dir/lease.$event.new"
case "$event" in
  deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up ;;
  bound|renew)
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    if [ "$event" = bound ]; then ip addr flush dev "$interface"; fi
    for old in $(ip -4 -o addr show dev "$interface" | awk '{print $4}'); do
      [ "$old" = "$ip/$mask" ] || ip addr del "$old" dev "$interface"
    done
    ip addr replace "$ip/$mask" dev "$interface"
    ip route flush dev "$interface" proto boot
    if [ -n "$staticroutes" ]; then
      set -- $staticroutes
      while [ $# -ge 2 ]; do
        if [ "$2" = 0.0.0.0 ]; then ip route replace "$1" dev "$interface"; else ip route replace "$1" via "$2" dev "$interface"; fi
        shift 2
      done
    elif [ -n "$router" ]; then
      ip route replace default via "${router%% *}" dev "$interface"
    fi
    touch "$dir/leased" ;;
esac
mv "$dir/lease.$event.new" "$dir/lease.$event"
)SH";

std::string first_existing(std::initializer_list<const char*> paths) {
  for (const char* p : paths)
    if (::access(p, X_OK) == 0) return p;
  return "";
}

std::map<std::string, std::string> read_vars(const std::string& file) {
  std::map<std::string, std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (auto eq = line.find('='); eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  return out;
}

// Runs argv in the VM's namespace and waits for it (bounded); its exit status.
Result<int> run_in_vm(const Options& o, const std::string& vm, const std::vector<std::string>& argv,
                      std::chrono::milliseconds limit) {
  NT_ASSIGN(int pid, spawn(argv, vm_dir(o, vm) + "/boot.log", vm_ns(o, vm)));
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);  // our own child
      ::waitpid(pid, &status, 0);
      return fail(Errc::unavailable, Origin::sandbox, argv[0] + " did not finish in time");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

bool safe_id(const std::string& id) {
  return !id.empty() && id != "." && id != ".." &&
         id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == std::string::npos;
}

}  // namespace

std::string vm_dir(const Options& o, const std::string& vm) { return o.state_dir + "/vms/" + vm; }

Result<int> start_dhcp_client(const Options& o, const std::string& vm) {
  auto busybox = first_existing({"/usr/bin/busybox", "/bin/busybox"});
  if (busybox.empty()) return fail(Errc::not_found, Origin::sandbox, "busybox is not installed (apt-get install busybox)");
  auto dir = vm_dir(o, vm);
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return fail(Errc::internal, Origin::sandbox, "cannot make " + dir + ": " + ec.message());
  auto script = dir + "/udhcpc.sh";
  std::ofstream(script) << kScript;
  fs::permissions(script, fs::perms::owner_all, ec);
  // -f: stays in the foreground of its own session (the sandbox stops it by pid);
  // retries every second until a lease, then renews at T1 as any client.
  return spawn({busybox, "udhcpc", "-f", "-i", "eth0", "-s", script, "-t", "5", "-T", "1", "-A", "1", "-x",
                "hostname:" + vm},
               dir + "/udhcpc.log", vm_ns(o, vm));
}

Result<std::string> wait_for_lease(const Options& o, const std::string& vm, std::chrono::milliseconds limit) {
  auto dir = vm_dir(o, vm);
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!fs::exists(dir + "/leased")) {
    if (std::chrono::steady_clock::now() > deadline)
      return fail(Errc::unavailable, Origin::sandbox, "VM " + vm + " got no DHCP lease (see " + dir + "/udhcpc.log)");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return read_vars(dir + "/lease.bound")["ip"];
}

Result<std::string> fetch_metadata(const Options& o, const std::string& vm, std::chrono::milliseconds limit) {
  auto curl = first_existing({"/usr/bin/curl", "/bin/curl"});
  if (curl.empty()) return fail(Errc::not_found, Origin::sandbox, "curl is not installed");
  auto out = vm_dir(o, vm) + "/meta_data.json";
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    auto code = run_in_vm(o, vm, {curl, "-sf", "-m", "2", "-o", out, "http://169.254.169.254/openstack/latest/meta_data.json"},
                          std::chrono::seconds(3));
    if (code && *code == 0) {
      std::ifstream in(out);
      std::stringstream text;
      text << in.rdbuf();
      boost::system::error_code ec;
      auto doc = boost::json::parse(text.str(), ec);
      if (!ec && doc.is_object()) return jget::str(doc.as_object(), "uuid");
      last = "meta_data.json is not JSON";
    } else {
      last = code ? "curl exit " + std::to_string(*code) : code.error().message;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return fail(Errc::unavailable, Origin::sandbox, "VM " + vm + " could not read its metadata: " + last);
}

Status provide_instance_data(const Options& o, const std::string& instance_id, const std::string& key_file,
                             const std::string& user_data_file) {
  if (!safe_id(instance_id)) return fail(Errc::invalid_argument, Origin::sandbox, "bad instance id " + instance_id);
  auto dir = o.state_dir + "/instances/" + instance_id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  auto copy = [&](const std::string& from, const char* to) -> Status {
    if (from.empty()) return {};
    fs::copy_file(from, dir + "/" + to, fs::copy_options::overwrite_existing, ec);
    if (ec) return fail(Errc::invalid_argument, Origin::sandbox, "cannot read " + from + ": " + ec.message());
    return {};
  };
  NT_TRY(copy(key_file, "public_keys"));
  return copy(user_data_file, "user_data");
}

}  // namespace nt::sandbox
