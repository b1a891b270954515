// Sets of CIDRs as netaddr's IPSet treats them, for subnet pools: merging (compact),
// difference, intersection and containment, and Neutron's choice of a prefix for a subnet
// of a given length. Pure functions over one IP version at a time.
#pragma once
#include <optional>
#include <vector>

#include "common/net.h"

namespace nt::prefixes {

// The smallest list of CIDRs covering exactly the addresses of `cidrs`, ordered by address
// (netaddr: IPSet(cidrs).compact().iter_cidrs()).
std::vector<Cidr> merge(const std::vector<Cidr>& cidrs);
// The addresses of `from` that are not in `minus`, as merged CIDRs.
std::vector<Cidr> subtract(const std::vector<Cidr>& from, const std::vector<Cidr>& minus);
bool intersect(const std::vector<Cidr>& a, const std::vector<Cidr>& b);
// Every address of `inner` is in `outer`.
bool covers(const std::vector<Cidr>& outer, const std::vector<Cidr>& inner);
// Neutron's SubnetAllocator: of the free blocks (longest prefix first, then by address),
// the first one that can hold a /prefixlen gives its first /prefixlen.
std::optional<Cidr> first_fit(const std::vector<Cidr>& free, int prefixlen);
// The free block that holds `wanted` entirely, if any (a specific subnet request).
bool fits(const std::vector<Cidr>& free, const Cidr& wanted);
// 2^(unit - prefixlen): the size of a prefix in quota units (/32 for IPv4, /64 for IPv6);
// fractions when prefixlen > unit, as Neutron's math.pow.
double quota_units(int prefixlen, int unit);

}  // namespace nt::prefixes
