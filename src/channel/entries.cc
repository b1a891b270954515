#include "channel/entries.h"

#include <algorithm>
#include <array>
#include <boost/mp11/algorithm.hpp>
#include <type_traits>
#include <utility>

namespace nt::view {
namespace json = boost::json;

namespace {

constexpr std::array<std::pair<Kind, std::string_view>, 13> kKinds{{{Kind::network, "network"},
                                                                   {Kind::port, "port"},
                                                                   {Kind::l2pop, "l2pop"},
                                                                   {Kind::router, "router"},
                                                                   {Kind::arp, "arp"},
                                                                   {Kind::snat, "snat"},
                                                                   {Kind::fip, "fip"},
                                                                   {Kind::dhcp, "dhcp"},
                                                                   {Kind::portsec, "portsec"},
                                                                   {Kind::secgroup, "secgroup"},
                                                                   {Kind::sgmember, "sgmember"},
                                                                   {Kind::addrgroup, "addrgroup"},
                                                                   {Kind::flood, "flood"}}};

// The decoder, generic over the described structs: every member must be there with its
// type (null for an absent optional); members it does not know are skipped. Boost.JSON's
// own value_to for described structs refuses objects with extra members, which would
// break an older agent the day a server adds a field. The error names the member's path.
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_vector : std::false_type {};
template <class T> struct is_vector<std::vector<T>> : std::true_type {};

template <class T>
bool decode(const json::value& v, T& out, std::string& path) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) return path += ": not a string", false;
    out.assign(v.get_string().data(), v.get_string().size());
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool()) return path += ": not true or false", false;
    out = v.get_bool();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (!v.is_int64()) return path += ": not an integer", false;
    out = v.get_int64();
  } else if constexpr (is_optional<T>::value) {
    if (v.is_null()) return out.reset(), true;
    return decode(v, out.emplace(), path);
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_array()) return path += ": not a list", false;
    out.clear();
    out.reserve(v.get_array().size());
    for (const auto& item : v.get_array()) {
      auto at = path.size();
      path += "[" + std::to_string(out.size()) + "]";
      if (!decode(item, out.emplace_back(), path)) return false;
      path.resize(at);
    }
  } else {
    if (!v.is_object()) return path += ": not an object", false;
    bool ok = true;
    boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>([&](auto member) {
      if (!ok) return;
      auto at = path.size();
      path += std::string(path.empty() ? "" : ".") + member.name;
      const auto* m = v.get_object().if_contains(member.name);
      if (!m) ok = false, path += ": missing";
      else ok = decode(*m, out.*member.pointer, path);
      if (ok) path.resize(at);
    });
    return ok;
  }
  return true;
}

template <class Entry>
Status decode_into(std::map<std::string, Entry>& into, std::string_view kind, const std::string& id, const json::value& obj) {
  Entry decoded;
  std::string path;
  if (!decode(obj, decoded, path))
    return fail(Errc::invalid_argument, "", "host view entry " + std::string(kind) + " " + id + ": " + (path.empty() ? "?" : path));
  into.insert_or_assign(id, std::move(decoded));
  return {};
}

template <class Entry>
void list(std::vector<std::tuple<Kind, std::string, json::object>>& out, Kind kind, const std::map<std::string, Entry>& from) {
  for (const auto& [id, e] : from) out.emplace_back(kind, id, encode(e));
}

// One address of a remote group into the group's sorted list.
Status put_member(HostView& view, const std::string& id, const json::value& obj) {
  auto at = ArpId::parse(id);
  if (!at) return fail(Errc::invalid_argument, "", "host view entry sgmember '" + id + "': not <group>|<address>");
  std::map<std::string, SgMember> one;
  NT_TRY(decode_into(one, "sgmember", id, obj));
  if (one.at(id).ip != at->port)
    return fail(Errc::invalid_argument, "", "host view entry sgmember '" + id + "': its ip is not its id's");
  view.sgmembers[at->router].ips.insert(std::move(at->port));
  return {};
}

void erase_member(HostView& view, const std::string& id) {
  auto at = ArpId::parse(id);
  auto group = at ? view.sgmembers.find(at->router) : view.sgmembers.end();
  if (group == view.sgmembers.end()) return;
  auto& ips = group->second.ips;
  ips.erase(at->port);
  if (ips.empty()) view.sgmembers.erase(group);
}

void list_members(std::vector<std::tuple<Kind, std::string, json::object>>& out, const HostView& view) {
  for (const auto& [group, members] : view.sgmembers)
    for (const auto& ip : members.ips) out.emplace_back(Kind::sgmember, group + "|" + ip, encode(SgMember{ip}));
}

}  // namespace

std::string_view kind_name(Kind kind) {
  for (const auto& [k, name] : kKinds)
    if (k == kind) return name;
  return "";
}

std::optional<Kind> parse_kind(std::string_view name) {
  for (const auto& [k, n] : kKinds)
    if (n == name) return k;
  return std::nullopt;
}

std::optional<ArpId> ArpId::parse(std::string_view id) {
  auto bar = id.find('|');
  if (bar == std::string_view::npos || bar == 0 || bar + 1 == id.size()) return std::nullopt;
  return ArpId{std::string(id.substr(0, bar)), std::string(id.substr(bar + 1))};
}

bool HostView::empty() const {
  return networks.empty() && ports.empty() && l2pop.empty() && routers.empty() && arp.empty() && snat.empty() && fips.empty() && dhcp.empty() &&
         portsec.empty() && secgroups.empty() && sgmembers.empty() && addrgroups.empty() && flood.empty();
}

Status put(HostView& view, std::string_view kind, const std::string& id, const json::value& obj) {
  auto k = parse_kind(kind);
  if (!k) return fail(Errc::invalid_argument, "", "host view entry of unknown kind '" + std::string(kind) + "'");
  switch (*k) {
    case Kind::network: return decode_into(view.networks, kind, id, obj);
    case Kind::port: return decode_into(view.ports, kind, id, obj);
    case Kind::l2pop: return decode_into(view.l2pop, kind, id, obj);
    case Kind::router: return decode_into(view.routers, kind, id, obj);
    case Kind::arp:
      if (!ArpId::parse(id)) return fail(Errc::invalid_argument, "", "host view entry arp '" + id + "': not <router>|<port>");
      return decode_into(view.arp, kind, id, obj);
    case Kind::snat: return decode_into(view.snat, kind, id, obj);
    case Kind::fip: return decode_into(view.fips, kind, id, obj);
    case Kind::dhcp: return decode_into(view.dhcp, kind, id, obj);
    case Kind::portsec: return decode_into(view.portsec, kind, id, obj);
    case Kind::secgroup: return decode_into(view.secgroups, kind, id, obj);
    case Kind::sgmember: return put_member(view, id, obj);
    case Kind::addrgroup: return decode_into(view.addrgroups, kind, id, obj);
    case Kind::flood:
      if (!ArpId::parse(id)) return fail(Errc::invalid_argument, "", "host view entry flood '" + id + "': not <network>|<host>");
      return decode_into(view.flood, kind, id, obj);
  }
  return {};
}

void erase(HostView& view, std::string_view kind, const std::string& id) {
  auto k = parse_kind(kind);
  if (!k) return;
  switch (*k) {
    case Kind::network: view.networks.erase(id); break;
    case Kind::port: view.ports.erase(id); break;
    case Kind::l2pop: view.l2pop.erase(id); break;
    case Kind::router: view.routers.erase(id); break;
    case Kind::arp: view.arp.erase(id); break;
    case Kind::snat: view.snat.erase(id); break;
    case Kind::fip: view.fips.erase(id); break;
    case Kind::dhcp: view.dhcp.erase(id); break;
    case Kind::portsec: view.portsec.erase(id); break;
    case Kind::secgroup: view.secgroups.erase(id); break;
    case Kind::sgmember: erase_member(view, id); break;
    case Kind::addrgroup: view.addrgroups.erase(id); break;
    case Kind::flood: view.flood.erase(id); break;
  }
}

std::vector<std::tuple<Kind, std::string, json::object>> entries(const HostView& view) {
  std::vector<std::tuple<Kind, std::string, json::object>> out;
  visit_kinds(view, [&out](Kind kind, const auto& by_id) { list(out, kind, by_id); },
              [&out, &view](const auto&) { list_members(out, view); });
  return out;
}

}  // namespace nt::view
