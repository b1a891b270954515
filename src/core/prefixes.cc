#include "core/prefixes.h"

#include <algorithm>
#include <cmath>

namespace nt::prefixes {

namespace {

struct Range {
  u128 lo, hi;  // inclusive
};

int bits_of(int version) { return version == 4 ? 32 : 128; }
u128 max_of(int version) { return version == 4 ? u128(0xffffffffu) : ~u128(0); }

Range range_of(const Cidr& c) { return {c.network.value, c.last().value}; }

// Sorted, disjoint, non-adjacent ranges.
std::vector<Range> ranges_of(const std::vector<Cidr>& cidrs, int version) {
  std::vector<Range> rs;
  for (const auto& c : cidrs)
    if (c.network.version == version) rs.push_back(range_of(c));
  std::sort(rs.begin(), rs.end(), [](const Range& a, const Range& b) { return a.lo < b.lo; });
  std::vector<Range> out;
  for (const auto& r : rs) {
    if (!out.empty() && (out.back().hi == max_of(version) || r.lo <= out.back().hi + 1)) {
      out.back().hi = std::max(out.back().hi, r.hi);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

// The CIDRs of one range, by address.
void cidrs_of(Range r, int version, std::vector<Cidr>& out) {
  int bits = bits_of(version);
  if (r.lo == 0 && r.hi == max_of(version)) {
    out.push_back(Cidr{IpAddress{version, 0}, 0});
    return;
  }
  while (true) {
    int k = 0;  // the block is 2^k addresses, k < bits (the whole space was handled above)
    while (k + 1 < bits) {
      u128 size = u128(1) << (k + 1);
      if ((r.lo & (size - 1)) != 0 || r.hi - r.lo < size - 1) break;
      ++k;
    }
    u128 size = u128(1) << k;
    out.push_back(Cidr{IpAddress{version, r.lo}, bits - k});
    if (r.hi - r.lo == size - 1) return;
    r.lo += size;
  }
}

std::vector<Cidr> to_cidrs(const std::vector<Range>& rs, int version) {
  std::vector<Cidr> out;
  for (const auto& r : rs) cidrs_of(r, version, out);
  return out;
}

std::vector<Range> minus(const std::vector<Range>& a, const std::vector<Range>& b) {
  std::vector<Range> out;
  for (Range r : a) {
    bool gone = false;
    for (const auto& m : b) {
      if (m.hi < r.lo || m.lo > r.hi) continue;
      if (m.lo > r.lo) out.push_back({r.lo, m.lo - 1});
      if (m.hi >= r.hi) {
        gone = true;
        break;
      }
      r.lo = m.hi + 1;
    }
    if (!gone) out.push_back(r);
  }
  return out;
}

template <class F>
std::vector<Cidr> per_version(const std::vector<Cidr>& a, const std::vector<Cidr>& b, F f) {
  std::vector<Cidr> out;
  for (int v : {4, 6}) {
    auto part = to_cidrs(f(ranges_of(a, v), ranges_of(b, v)), v);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

}  // namespace

std::vector<Cidr> merge(const std::vector<Cidr>& cidrs) {
  return per_version(cidrs, {}, [](const std::vector<Range>& a, const std::vector<Range>&) { return a; });
}

std::vector<Cidr> subtract(const std::vector<Cidr>& from, const std::vector<Cidr>& take) {
  return per_version(from, take, [](const std::vector<Range>& a, const std::vector<Range>& b) { return minus(a, b); });
}

bool intersect(const std::vector<Cidr>& a, const std::vector<Cidr>& b) {
  for (const auto& x : a)
    for (const auto& y : b)
      if (x.overlaps(y)) return true;
  return false;
}

bool covers(const std::vector<Cidr>& outer, const std::vector<Cidr>& inner) { return subtract(inner, outer).empty(); }

std::optional<Cidr> first_fit(const std::vector<Cidr>& free, int prefixlen) {
  std::vector<Cidr> order = free;
  std::stable_sort(order.begin(), order.end(), [](const Cidr& a, const Cidr& b) { return a.prefix > b.prefix; });
  for (const auto& c : order)
    if (prefixlen >= c.prefix && prefixlen <= c.network.bits()) return Cidr{c.network, prefixlen};
  return std::nullopt;
}

bool fits(const std::vector<Cidr>& free, const Cidr& wanted) {
  for (const auto& c : free)
    if (c.network.version == wanted.network.version && c.prefix <= wanted.prefix && c.contains(wanted.network))
      return true;
  return false;
}

double quota_units(int prefixlen, int unit) { return std::pow(2.0, unit - prefixlen); }

}  // namespace nt::prefixes
