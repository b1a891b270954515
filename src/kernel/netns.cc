#include "kernel/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <thread>

#include "kernel/kernel.h"

namespace nt::kernel {
namespace {

constexpr const char* kNetnsDir = "/run/netns";

std::string path_of(const std::string& name) { return std::string(kNetnsDir) + "/" + name; }

Error bad_name(const std::string& name) {
  Error e{Errc::invalid_argument, "", "bad namespace name '" + name + "'"};
  e.origin = Origin::kernel;
  return e;
}

bool valid_name(const std::string& name) {
  return !name.empty() && name.size() < 200 && name.find('/') == std::string::npos && name != "." && name != "..";
}

// /run/netns must be a shared mount point so bind mounts made in it show in every mount
// namespace (what `ip netns add` does).
Status prepare_netns_dir() {
  if (::mkdir(kNetnsDir, 0755) < 0 && errno != EEXIST) return nt::unexpected(from_errno(errno, "mkdir /run/netns"));
  if (::mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) == 0) return {};
  if (errno != EINVAL) return nt::unexpected(from_errno(errno, "make /run/netns shared"));
  if (::mount(kNetnsDir, kNetnsDir, "none", MS_BIND | MS_REC, nullptr) < 0)
    return nt::unexpected(from_errno(errno, "bind /run/netns"));
  if (::mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) < 0)
    return nt::unexpected(from_errno(errno, "make /run/netns shared"));
  return {};
}

// Runs fn on a fresh thread (setns/unshare change only the calling thread's namespace).
Status on_thread(const std::function<Status()>& fn) {
  Status result;
  std::thread t([&] { result = fn(); });
  t.join();
  return result;
}

}  // namespace

bool namespace_exists(const std::string& name) {
  struct stat st{};
  return valid_name(name) && ::stat(path_of(name).c_str(), &st) == 0;
}

Status create_namespace(const std::string& name) {
  if (!valid_name(name)) return nt::unexpected(bad_name(name));
  if (auto ok = prepare_netns_dir(); !ok) return ok;
  auto path = path_of(name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL, 0);
  if (fd < 0) return nt::unexpected(from_errno(errno, "create namespace " + name));
  ::close(fd);
  auto made = on_thread([&]() -> Status {
    if (::unshare(CLONE_NEWNET) < 0) return nt::unexpected(from_errno(errno, "unshare for namespace " + name));
    auto self = "/proc/self/task/" + std::to_string(::gettid()) + "/ns/net";
    if (::mount(self.c_str(), path.c_str(), "none", MS_BIND, nullptr) < 0)
      return nt::unexpected(from_errno(errno, "bind namespace " + name));
    return {};
  });
  if (!made) ::unlink(path.c_str());
  return made;
}

Status delete_namespace(const std::string& name) {
  if (!valid_name(name)) return nt::unexpected(bad_name(name));
  auto path = path_of(name);
  if (::umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL)
    return nt::unexpected(from_errno(errno, "unmount namespace " + name));
  if (::unlink(path.c_str()) < 0) return nt::unexpected(from_errno(errno, "remove namespace " + name));
  return {};
}

std::vector<std::string> list_namespaces(const std::string& prefix) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(kNetnsDir)) {
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != ".." && n.rfind(prefix, 0) == 0) names.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<int> open_namespace(const std::string& name) {
  if (!valid_name(name)) return nt::unexpected(bad_name(name));
  int fd = ::open(path_of(name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nt::unexpected(from_errno(errno, "open namespace " + name));
  return fd;
}

Status enter_namespace(const std::string& name) {
  auto fd = open_namespace(name);
  if (!fd) return nt::unexpected(fd.error());
  int rc = ::setns(*fd, CLONE_NEWNET);
  int err = errno;
  ::close(*fd);
  if (rc < 0) return nt::unexpected(from_errno(err, "enter namespace " + name));
  return {};
}

Status run_in_namespace(const std::string& name, const std::function<Status()>& fn) {
  return on_thread([&]() -> Status {
    if (name.empty()) return fn();  // the calling process's own namespace
    if (auto in = enter_namespace(name); !in) return in;
    return fn();
  });
}

Status write_sysctl(const std::string& key, const std::string& value) {
  std::ofstream f("/proc/sys/" + key);
  if (!f) return nt::unexpected(from_errno(errno ? errno : ENOENT, "open sysctl " + key));
  f << value;
  f.close();
  if (!f) return nt::unexpected(from_errno(errno ? errno : EIO, "write sysctl " + key));
  return {};
}

Result<std::string> read_sysctl(const std::string& key) {
  std::ifstream f("/proc/sys/" + key);
  if (!f) return nt::unexpected(from_errno(errno ? errno : ENOENT, "open sysctl " + key));
  std::string value;
  std::getline(f, value);
  return value;
}

}  // namespace nt::kernel
