// One-off plumbing of links, addresses and routes in the current thread's namespace, for
// building hosts and VMs (the sandbox) rather than reconciling: each call does one thing
// and reports the kernel's answer. Use inside run_in_namespace().
#pragma once
#include <map>
#include <memory>
#include <vector>
#include <string>

#include "common/error.h"

namespace nt::kernel {

struct VethSpec {
  std::string name;       // this end, in the current namespace
  std::string peer;       // the other end's name
  int peer_netns_fd = -1; // -1: the peer stays here too
  std::string peer_mac;   // "" = kernel's random MAC
  int mtu = 1500;
};

class Plumbing {
 public:
  static Result<std::unique_ptr<Plumbing>> open();
  virtual ~Plumbing() = default;
  virtual Status add_bridge(const std::string& name, int mtu) = 0;
  virtual Status add_veth(const VethSpec& spec) = 0;
  // Brings the link up; with master non-empty, enslaves it to that bridge first.
  virtual Status link_up(const std::string& name, const std::string& master = "") = 0;
  virtual Status add_address(const std::string& dev, const std::string& cidr) = 0;
  // `ip route add DST via GW` (DST "default" or a CIDR).
  virtual Status add_route(const std::string& dst, const std::string& via) = 0;
  virtual bool has_link(const std::string& name) = 0;
};

// Announces ip at mac on dev with a gratuitous ARP (a broadcast request for its own
// address), in the current thread's namespace: neighbours drop a stale entry at once.
Status send_gratuitous_arp(const std::string& dev, const std::string& ip, const std::string& mac);

// Which of these link kinds ("vxlan", "vlan", "geneve") this kernel cannot create, each
// with the reason (naming the missing module). Tried in a throwaway namespace of a
// short-lived thread, so nothing is left behind.
std::map<std::string, std::string> missing_link_kinds(const std::vector<std::string>& kinds);

}  // namespace nt::kernel
