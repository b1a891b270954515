#include "agent/probe.h"

#include <boost/json.hpp>

#include <map>

namespace nt::agent {
namespace json = boost::json;

std::optional<view::Probe> read_probe(const std::string& line) {
  if (line.find("\"probe\"") == std::string::npos) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  const auto* op = o.if_contains("op");
  const auto* p = o.if_contains("probe");
  if (!op || !op->is_string() || op->get_string() != "probe" || !p) return std::nullopt;
  auto probe = json::try_value_to<view::Probe>(*p);
  if (!probe) return std::nullopt;
  return std::move(*probe);
}

namespace {

std::string fdb_text(const std::string& dev, const std::string& mac, const std::string& dst) {
  return "fdb " + mac + " dev " + dev + (dst.empty() ? " master" : " dst " + dst);
}

std::string check_fdb(const kernel::State& s, const view::ProbeCheck& c) {
  if (s.fdb.count(kernel::Fdb{c.dev, c.mac, c.dst, false}) || s.fdb.count(kernel::Fdb{c.dev, c.mac, c.dst, true}))
    return "ok";
  for (const auto& f : s.fdb)
    if (f.dev == c.dev && f.mac == c.mac && !f.dst.empty() == !c.dst.empty())
      return "different: " + fdb_text(f.dev, f.mac, f.dst) + " (expected dst " + c.dst + ")";
  return "missing: " + fdb_text(c.dev, c.mac, c.dst);
}

std::string check_neigh(const kernel::State& s, const view::ProbeCheck& c) {
  for (const auto& n : s.neighbours)
    if (n.dev == c.dev && n.ip == c.ip)
      return n.mac == c.mac ? "ok" : "different: neighbour " + n.ip + " lladdr " + n.mac + " dev " + n.dev;
  return "missing: permanent neighbour " + c.ip + " lladdr " + c.mac + " dev " + c.dev;
}

std::string check_route(const kernel::State& s, const view::ProbeCheck& c) {
  for (const auto& r : s.routes)
    if ((c.table == 0 || r.table == static_cast<uint32_t>(c.table)) && r.dst == c.dst && (c.via.empty() || r.via == c.via) &&
        (c.dev.empty() || r.dev == c.dev))
      return "ok";
  return "missing: route " + c.dst + (c.via.empty() ? "" : " via " + c.via) + (c.dev.empty() ? "" : " dev " + c.dev) +
         (c.table == 0 ? "" : " table " + std::to_string(c.table));
}

std::string check_rule(const kernel::State& s, const view::ProbeCheck& c) {
  for (const auto& r : s.rules)
    if (r.from == c.ip && (c.table == 0 || r.table == static_cast<uint32_t>(c.table))) return "ok";
  return "missing: rule from " + c.ip + (c.table == 0 ? "" : " lookup " + std::to_string(c.table));
}

}  // namespace

std::string check_entry(const kernel::State& s, const std::string& nft, const view::ProbeCheck& c) {
  if (c.kind == "fdb") return check_fdb(s, c);
  if (c.kind == "neigh") return check_neigh(s, c);
  if (c.kind == "route") return check_route(s, c);
  if (c.kind == "rule") return check_rule(s, c);
  if (c.kind == "addr") {
    if (!s.links.count(c.dev)) return "missing: device " + c.dev;
    return s.addresses.count(kernel::Address{c.dev, c.ip}) ? "ok" : "missing: address " + c.ip + " dev " + c.dev;
  }
  if (c.kind == "nft") {
    if (!s.nft.count(c.dst)) return "missing: table " + c.dst;
    if (nft.empty()) return "unknown: cannot list table " + c.dst;  // present, its rules unread
    return nft.find(c.text) != std::string::npos ? "ok" : "missing: \"" + c.text + "\" in table " + c.dst;
  }
  return "unknown: this agent cannot check a " + c.kind + " entry";
}

std::vector<std::string> answer_probe(kernel::Host& host, const std::string& prefix,
                                      const std::vector<view::ProbeCheck>& checks) {
  std::map<std::string, Result<kernel::State>> states;  // by namespace ("" = the host's)
  std::map<std::pair<std::string, std::string>, std::string> tables;
  std::vector<std::string> out;
  for (const auto& c : checks) {
    auto ns = c.ns.empty() ? std::string() : prefix + c.ns;
    if (!ns.empty() && !host.namespace_exists(ns)) {
      out.push_back("missing: namespace " + ns);
      continue;
    }
    auto kernel = ns.empty() ? Result<kernel::Kernel*>(&host.root()) : host.in_namespace(ns);
    if (!kernel) {
      out.push_back("unknown: " + kernel.error().message);
      continue;
    }
    auto it = states.find(ns);
    if (it == states.end()) it = states.emplace(ns, (*kernel)->read()).first;
    if (!it->second) {
      out.push_back("unknown: reading " + (ns.empty() ? std::string("the host") : ns) + ": " + it->second.error().message);
      continue;
    }
    std::string nft;
    if (c.kind == "nft") {
      auto key = std::make_pair(ns, c.dst);
      if (!tables.count(key)) {
        auto listed = (*kernel)->list_nft(c.dst);
        tables[key] = listed ? *listed : "";
      }
      nft = tables[key];
    }
    out.push_back(check_entry(*it->second, nft, c));
  }
  return out;
}

}  // namespace nt::agent
