// IP address management: allocation pools (defaults and validation, with Neutron's
// errors) and the choice of a free address: random among the first 1,000 free addresses
// of the pools, as Neutron's IPAM driver does.
#pragma once
#include <optional>
#include <vector>

#include "common/net.h"
#include "core/model.h"

namespace nt {

struct Pool {
  IpAddress start, end;
  u128 size() const { return end.value - start.value + 1; }
  bool contains(const IpAddress& ip) const {
    return ip.version == start.version && ip.value >= start.value && ip.value <= end.value;
  }
};

std::vector<Pool> default_pools(const Cidr& cidr, const std::optional<IpAddress>& gateway);
// Validates given pools: inside the CIDR, start <= end, no overlaps, not on the gateway.
Result<std::vector<Pool>> check_pools(std::vector<Pool> pools, const Cidr& cidr,
                                      const std::optional<IpAddress>& gateway);
boost::json::array pools_json(const std::vector<Pool>& pools);
Result<std::vector<Pool>> pools_from_json(const boost::json::value& v);

// A free address of `subnet` in `pools`, or nullopt when the pools are full.
std::optional<IpAddress> pick_free_ip(const Model& model, const std::string& subnet,
                                      const std::vector<Pool>& pools, size_t window = 1000);
// The lowest free address of `subnet` in `pools` (Neutron's PreferNextAddressRequest, which
// its IPAM uses for network:dhcp ports), or nullopt when the pools are full.
std::optional<IpAddress> first_free_ip(const Model& model, const std::string& subnet, const std::vector<Pool>& pools);

}  // namespace nt
