// What subnetpools.cc (the resource and its actions) and subnetpool_subnets.cc (subnets
// allocated from pools, networks' address scopes) share.
#pragma once
#include <string>
#include <vector>

#include "api/handlers.h"
#include "common/net.h"

namespace nt::pools {

// A stored pool's prefixes.
std::vector<Cidr> prefixes_of(const Obj& pool);
// The CIDRs of the subnets allocated from pool `id`.
std::vector<Cidr> allocated(const Model& m, const std::string& id);
// The ids of the subnets allocated from pool `id`.
std::vector<std::string> subnets_of(const Model& m, const std::string& id);
boost::json::array to_json(const std::vector<Cidr>& cidrs);
// netaddr.IPNetwork(text): an address with or without /len, host bits dropped.
Result<Cidr> parse_prefix(const boost::json::value& v);

}  // namespace nt::pools
