// Port forwardings of a floating IP (floating-ip-port-forwarding, with descriptions and
// port ranges): TCP/UDP to the floating IP's external port(s) goes to an internal IPv4
// address and port(s) of a port behind a router with a gateway on the floating IP's
// network. The floating IP is not associated with a port while it forwards; it takes the
// router of its first forwarding (router_id) and loses it with its last. The data plane
// is centralised on the router's active gateway host (as Neutron does for DVR routers):
// the snat namespace holds the address and DNATs to the internal port.
#include "api/handlers.h"
#include "api/l3.h"

#include <algorithm>

#include "common/text.h"

namespace nt {
namespace json = boost::json;

namespace {

const std::vector<std::string> kProtocols = {"dccp", "icmp", "ipv6-icmp", "sctp", "tcp", "udp"};

// A port number, a range "min:max" or null, as neutron_lib's validate_port_range_or_none.
check::Check port_range() {
  return [](const check::Value& v) -> Result<check::Value> {
    if (v.is_null()) return v;
    std::string s = v.is_string() ? std::string(v.get_string()) : v.is_int64() ? std::to_string(v.get_int64()) : check::show(v);
    auto colon = s.find(':');
    std::vector<std::string> parts{s.substr(0, colon)};
    if (colon != std::string::npos) parts.push_back(s.substr(colon + 1));
    if (parts.size() == 2 && parts[1].find(':') != std::string::npos)
      return fail(Errc::invalid_argument, "", "Port range must be two integers separated by a colon");
    std::vector<int64_t> ports;
    for (const auto& p : parts) {
      if (p.empty()) return fail(Errc::invalid_argument, "", "Port range must be two integers separated by a colon");
      auto n = parse_int64(p);
      if (!n || *n < 0 || *n > 65535) return fail(Errc::invalid_argument, "", "Invalid port: " + p);
      if (*n < 1) return fail(Errc::invalid_argument, "", "Invalid port: " + p + ", the port must be in the range [1, 65535]");
      ports.push_back(*n);
    }
    if (ports.size() == 2 && ports[0] > ports[1])
      return fail(Errc::invalid_argument, "", "First port in a port range must be lower than the second port");
    return check::Value(s);
  };
}

// external_port/internal_port: with port ranges, Neutron validates them without converting
// (an integer 1..65535 or null; no strings).
check::Check nullable_port() {
  return [](const check::Value& v) -> Result<check::Value> {
    if (v.is_null()) return v;
    if (!v.is_int64() && !v.is_uint64()) return fail(Errc::invalid_argument, "", "'" + check::show(v) + "' is not an integer");
    auto n = v.to_number<int64_t>();
    if (n < 1) return fail(Errc::invalid_argument, "", "'" + std::to_string(n) + "' is too small - must be at least '1'");
    if (n > 65535) return fail(Errc::invalid_argument, "", "'" + std::to_string(n) + "' is too large - must be no larger than '65535'");
    return v;
  };
}

// Neutron's convert_to_protocol (a name in any case or 0..255, else InvalidInput), then
// the names as they are spelled.
check::Check pf_protocol() {
  auto values = check::one_of(kProtocols);
  return [values](const check::Value& v) -> Result<check::Value> {
    auto name = ascii_lower(check::show(v));
    bool known = std::find(kProtocols.begin(), kProtocols.end(), name) != kProtocols.end();
    auto number = v.is_string() ? parse_int64(std::string(v.get_string())) : v.is_int64() ? std::optional(v.get_int64()) : std::nullopt;
    if (!known && !(number && *number >= 0 && *number <= 255))
      return invalid_input("IP protocol '" + check::show(v) + "' is not supported. Only protocol names and their integer "
                           "representation (0 to 255) are supported");
    auto checked = values(v);
    if (!checked)
      return fail(Errc::invalid_argument, "", "'" + check::show(v) +
                                                  "' is not in dict_keys(['dccp', 'icmp', 'ipv6-icmp', 'sctp', 'tcp', 'udp'])");
    return checked;
  };
}

ResourceDef pf_def() {
  ResourceDef d{"port_forwarding", "port_forwardings", "port_forwardings", "PortForwardingNotFound",
                "Port Forwarding {} could not be found.", {}};
  auto& a = d.attrs;
  a.push_back({"id", kFilter | kSort, check::uuid(), std::nullopt});
  a.push_back({"project_id", kPost | kInputOnly, check::string(255), std::nullopt});
  a.push_back({"tenant_id", kPost | kInputOnly, check::string(255), std::nullopt});
  a.push_back({"external_port", kPost | kPut | kFilter, nullable_port(), json::value(nullptr)});
  a.push_back({"internal_port", kPost | kPut, nullable_port(), json::value(nullptr)});
  a.push_back({"internal_ip_address", kPost | kPut | kRequired, check::ip_address(), std::nullopt});
  a.push_back({"protocol", kPost | kPut | kFilter | kSort | kRequired, pf_protocol(), std::nullopt});
  a.push_back({"internal_port_id", kPost | kPut | kFilter | kSort | kRequired, check::uuid(), std::nullopt});
  a.push_back({"description", kPost | kPut | kFilter, check::string(255), json::value("")});
  a.push_back({"external_port_range", kPost | kPut | kFilter, port_range(), json::value(nullptr)});
  a.push_back({"internal_port_range", kPost | kPut, port_range(), json::value(nullptr)});
  // The parent floating IP: set from the URL, never shown.
  a.push_back({"floatingip_id", kRetired, check::any(), std::nullopt});
  return d;
}

nt::unexpected<Error> bad_pf(const std::string& msg) {
  return fail(Errc::invalid_argument, "BadRequest", "Bad port_forwarding request: " + msg + ".");
}

struct Range {
  int64_t lo = 0, hi = 0;
  std::string str() const { return std::to_string(lo) + ":" + std::to_string(hi); }
  bool collides(const Range& o) const { return std::max(lo, o.lo) <= std::min(hi, o.hi); }
};

Range parse_range(const json::value& v) {
  auto s = jget::str(&v);
  auto colon = s.find(':');
  auto lo = parse_int64(s.substr(0, colon)).value_or(0);
  auto hi = colon == std::string::npos ? lo : parse_int64(s.substr(colon + 1)).value_or(lo);
  return {lo, hi};
}

// The forwarding's ports as ranges, from a single port or a range.
Range external_of(const Obj& pf) {
  if (const auto* r = pf.if_contains("external_port_range"); r && !r->is_null()) return parse_range(*r);
  auto p = jget::num(pf, "external_port");
  return {p, p};
}
Range internal_of(const Obj& pf) {
  if (const auto* r = pf.if_contains("internal_port_range"); r && !r->is_null()) return parse_range(*r);
  auto p = jget::num(pf, "internal_port");
  return {p, p};
}

// Stores ports both ways, as Neutron shows them: single ports when a range is one port
// wide, and the ranges always.
void normalise_ports(Obj& pf) {
  auto ext = external_of(pf), in = internal_of(pf);
  pf["external_port_range"] = ext.str();
  pf["internal_port_range"] = in.str();
  pf["external_port"] = ext.lo == ext.hi ? json::value(ext.lo) : json::value(nullptr);
  pf["internal_port"] = in.lo == in.hi ? json::value(in.lo) : json::value(nullptr);
}

std::vector<const Obj*> forwardings_of_fip(const Model& m, const std::string& fip_id) {
  std::vector<const Obj*> out;
  if (const Table* t = m.find_table("port_forwardings"))
    for (const auto& [id, pf] : *t)
      if (jget::str(pf.if_contains("floatingip_id")) == fip_id) out.push_back(&pf);
  return out;
}

class PortForwardings final : public Handler {
 public:
  using Handler::Handler;
  const ResourceDef& def() const override { return def_; }
  std::string quota_name() const override { return ""; }
  bool decorates() const override { return true; }  // never the stored text: it holds floatingip_id
  std::vector<std::string> special_filters() const override { return {"floatingip_id"}; }
  bool special_match(const Model&, const Ctx&, const Obj& o, const std::string& key, const std::string& value) const override {
    return key != "floatingip_id" || jget::str(o.if_contains("floatingip_id")) == value;
  }

  // Whoever may see the floating IP sees and changes its forwardings.
  bool visible(const Model& m, const Obj& o, const Ctx& ctx) const override {
    const Obj* fip = m.find("floatingips", jget::str(o.if_contains("floatingip_id")));
    return fip && (ctx.is_admin || project_of(*fip) == ctx.project_id);
  }
  Status authorize(const Model&, const std::string&, const Obj&, const Obj&, const Ctx&) const override { return {}; }
  // Neutron's policy names it floatingip_port_forwarding and checks the floating IP's owner
  // (ext_parent); the forwarding's project is its floating IP's.
  std::string policy_resource() const override { return "floatingip_port_forwarding"; }
  bool adds_policy_target() const override { return true; }
  void add_policy_target(const Model& m, Obj& target, const Ctx&) const override {
    std::string fip_id = jget::str(target.if_contains("floatingip_id"));
    if (fip_id.empty()) fip_id = parent_id;
    target["ext_parent_floatingip_id"] = fip_id;
    if (const Obj* fip = m.find("floatingips", fip_id); fip && !target.contains("project_id"))
      target["project_id"] = target["tenant_id"] = project_of(*fip);
  }

  // The floating IP of the request being written (writes run one at a time).
  std::string parent_id;

  Result<Obj> create(Txn& txn, Obj pf, const Ctx& ctx) override {
    for (const char* k : {"created_at", "updated_at", "revision_number"}) pf.erase(k);
    pf["floatingip_id"] = parent_id;
    NT_TRY(check_ports_given(pf));
    NT_TRY(check_collisions(txn.model(), pf, ""));
    NT_ASSIGN(const Obj* fip, parent(txn.model(), pf, ctx));
    NT_TRY(check_port_free_of_fip(txn.model(), pf));
    if (!jget::str(fip->if_contains("port_id")).empty())
      return conflict("FloatingIPPortAlreadyAssociated",
                      "Cannot associate floating IP " + jget::str(fip->if_contains("floating_ip_address")) + " (" +
                          jget::str(fip->if_contains("id")) + ") with port " + jget::str(pf.if_contains("internal_port_id")) +
                          " using fixed IP " + jget::str(pf.if_contains("internal_ip_address")) +
                          ", as that fixed IP already has a floating IP on external network " +
                          jget::str(fip->if_contains("floating_network_id")) + ".");
    NT_ASSIGN(auto router, router_for(txn.model(), pf, *fip, ctx));
    NT_TRY(check_router_match(txn.model(), *fip, router, pf));
    normalise_ports(pf);
    NT_TRY(check_unique(txn.model(), pf));
    if (jget::str(fip->if_contains("router_id")).empty()) {
      Obj next = *fip;
      next["router_id"] = router;
      txn.put("floatingips", std::move(next));
    }
    txn.put("port_forwardings", pf);
    return pf;
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    Obj pf = current;
    for (const auto& kv : changes) pf[kv.key()] = kv.value();
    // A single port given replaces the range it was part of (and the other way round).
    if (changes.contains("external_port") && !changes.contains("external_port_range")) pf["external_port_range"] = nullptr;
    if (changes.contains("internal_port") && !changes.contains("internal_port_range")) pf["internal_port_range"] = nullptr;
    NT_ASSIGN(const Obj* fip, parent(txn.model(), pf, ctx));
    auto new_port = jget::str(changes.if_contains("internal_port_id"));
    if (!new_port.empty()) NT_TRY(check_port_free_of_fip(txn.model(), pf));
    if (!new_port.empty() && new_port != jget::str(current.if_contains("internal_port_id"))) {
      NT_ASSIGN(auto router, router_for(txn.model(), pf, *fip, ctx));
      NT_TRY(check_router_match(txn.model(), *fip, router, pf));
    }
    NT_TRY(check_internal_ip(txn.model(), pf));
    for (const char* k : {"internal_port", "internal_port_range", "external_port", "external_port_range"})
      if (changes.contains(k)) {
        NT_TRY(check_collisions(txn.model(), pf, jget::str(current.if_contains("id"))));
        break;
      }
    normalise_ports(pf);
    NT_TRY(check_unique(txn.model(), pf));
    txn.put("port_forwardings", pf);
    return pf;
  }

  Status remove(Txn& txn, const Obj& pf, const Ctx&) override {
    remove_forwarding(txn, jget::str(pf.if_contains("id")));
    return {};
  }

 private:
  Result<const Obj*> parent(const Model& m, const Obj& pf, const Ctx& ctx) const {
    auto id = jget::str(pf.if_contains("floatingip_id"));
    const Obj* fip = m.find("floatingips", id);
    if (!fip || !(ctx.is_admin || project_of(*fip) == ctx.project_id)) return not_found("FloatingIPNotFound", "Floating IP " + id + " could not be found");
    return fip;
  }

  static Status check_ports_given(const Obj& pf) {
    auto given = [&](const char* k) { const auto* v = pf.if_contains(k); return v && !v->is_null(); };
    if (!given("external_port") && !given("external_port_range"))
      return bad_pf("The external port or the external port range must be given");
    if (!given("internal_port") && !given("internal_port_range"))
      return bad_pf("The internal port or the internal port range must be given");
    return {};
  }

  // Neutron's _check_port_collisions: N-N or 1-N ranges, and no overlap with the other
  // forwardings of the floating IP (external) or of the internal socket (internal).
  static Status check_collisions(const Model& m, const Obj& pf, const std::string& self) {
    auto ext = external_of(pf), in = internal_of(pf);
    if (in.hi > in.lo && in.hi - in.lo != ext.hi - ext.lo)
      return bad_pf("Invalid ranges of internal and/or external ports. The relation between internal and external ports "
                    "must be N-N or 1-N");
    auto proto = jget::str(pf.if_contains("protocol"));
    if (const Table* t = m.find_table("port_forwardings"))
      for (const auto& [id, other] : *t) {
        if (id == self || jget::str(other.if_contains("protocol")) != proto) continue;
        if (jget::str(other.if_contains("internal_port_id")) == jget::str(pf.if_contains("internal_port_id")) &&
            jget::str(other.if_contains("internal_ip_address")) == jget::str(pf.if_contains("internal_ip_address")) &&
            internal_of(other).collides(in))
          return bad_pf("There is a port collision with the internal_port_range. The following ranges collides: " +
                        internal_of(other).str() + " and " + in.str());
        if (jget::str(other.if_contains("floatingip_id")) == jget::str(pf.if_contains("floatingip_id")) &&
            external_of(other).collides(ext))
          return bad_pf("There is a port collision with the external_port_range. The following ranges collides: " +
                        external_of(other).str() + " and " + ext.str());
      }
    return {};
  }

  static Status check_unique(const Model& m, const Obj& pf) {
    auto same = [&](const Obj& o, std::initializer_list<const char*> keys) {
      for (const char* k : keys)
        if (o.at(k) != pf.at(k)) return false;
      return true;
    };
    if (const Table* t = m.find_table("port_forwardings"))
      for (const auto& [id, other] : *t) {
        if (id == jget::str(pf.if_contains("id"))) continue;
        if (same(other, {"floatingip_id", "external_port", "protocol"}) && !pf.at("external_port").is_null())
          return bad_pf("A duplicate port forwarding entry with same attributes already exists, conflicting values are "
                        "{'floatingip_id': '" + jget::str(pf.if_contains("floatingip_id")) + "', 'external_port': " +
                        json::serialize(pf.at("external_port")) + ", 'protocol': '" + jget::str(pf.if_contains("protocol")) + "'}");
        if (same(other, {"internal_port_id", "internal_ip_address", "internal_port", "protocol"}) &&
            !pf.at("internal_port").is_null())
          return bad_pf("A duplicate port forwarding entry with same attributes already exists, conflicting values are "
                        "{'internal_port_id': '" + jget::str(pf.if_contains("internal_port_id")) +
                        "', 'internal_ip_address': '" + jget::str(pf.if_contains("internal_ip_address")) +
                        "', 'internal_port': " + json::serialize(pf.at("internal_port")) + ", 'protocol': '" +
                        jget::str(pf.if_contains("protocol")) + "'}");
      }
    return {};
  }

  static Status check_port_free_of_fip(const Model& m, const Obj& pf) {
    auto port = jget::str(pf.if_contains("internal_port_id"));
    if (const Table* t = m.find_table("floatingips"))
      for (const auto& [id, fip] : *t)
        if (jget::str(fip.if_contains("port_id")) == port)
          return conflict("PortHasBindingFloatingIP",
                          "Cannot create port forwarding to floating IP " + jget::str(fip.if_contains("floating_ip_address")) +
                              " (" + id + ") with port " + port + " using fixed IP " +
                              jget::str(pf.if_contains("internal_ip_address")) + ", as that port already has a binding floating IP.");
    return {};
  }

  // The router through which the internal port reaches the floating IP's network; picks
  // the port's first IPv4 address when none is given.
  Result<std::string> router_for(const Model& m, Obj& pf, const Obj& fip, const Ctx& ctx) const {
    auto port_id = jget::str(pf.if_contains("internal_port_id"));
    const Obj* port = m.find("ports", port_id);
    if (!port || !(ctx.is_admin || project_of(*port) == ctx.project_id))
      return not_found("PortNotFound", "Port " + port_id + " could not be found.");
    std::vector<std::pair<std::string, std::string>> v4;  // (ip, subnet)
    for (const auto& f : port->at("fixed_ips").as_array()) {
      auto ip = jget::str(f.as_object().if_contains("ip_address"));
      if (ip.find(':') == std::string::npos) v4.emplace_back(ip, jget::str(f.as_object().if_contains("subnet_id")));
    }
    if (v4.empty()) return bad_pf("Requested internal port " + port_id + " must allocate an IPv4 address at least");
    std::string subnet;
    if (const auto* want = pf.if_contains("internal_ip_address"); !want || want->is_null()) {
      pf["internal_ip_address"] = v4[0].first;
      subnet = v4[0].second;
    } else {
      for (const auto& [ip, sid] : v4)
        if (ip == jget::str(want)) subnet = sid;
      if (subnet.empty())
        return bad_pf("Requested internal IP address " + jget::str(want) + " is not suitable for internal neutron port " +
                      port_id + ", as its fixed_ips are " + fixed_ips_repr(*port));
    }
    auto ext_net = jget::str(fip.if_contains("floating_network_id"));
    auto router = router_reaching(m, ext_net, subnet);
    if (router.empty())
      return bad_pf("External network " + ext_net + " is not reachable from subnet " + subnet +
                    ". Cannot set Port forwarding for port " + port_id + " with Floating IP " +
                    jget::str(fip.if_contains("id")));
    return router;
  }

  static std::string fixed_ips_repr(const Obj& port) {
    std::string out = "[";
    for (const auto& f : port.at("fixed_ips").as_array()) {
      if (out.size() > 1) out += ", ";
      out += "{'subnet_id': '" + jget::str(f.as_object().if_contains("subnet_id")) + "', 'ip_address': '" +
             jget::str(f.as_object().if_contains("ip_address")) + "'}";
    }
    return out + "]";
  }

  static Status check_router_match(const Model& m, const Obj& fip, const std::string& router, const Obj& pf) {
    auto current = jget::str(fip.if_contains("router_id"));
    if (current.empty() || current == router) return {};
    for (const Obj* other : forwardings_of_fip(m, jget::str(fip.if_contains("id"))))
      if (other->at("internal_ip_address") == pf.at("internal_ip_address") &&
          other->at("internal_port") == pf.at("internal_port"))
        return bad_pf("Floating IP " + jget::str(fip.if_contains("id")) + " with params: internal_ip_address: " +
                      jget::str(pf.if_contains("internal_ip_address")) + ", internal_port: " +
                      json::serialize(pf.at("internal_port")) + " already exists");
    return bad_pf("The Floating IP " + jget::str(fip.if_contains("id")) + " had been set on router " + current +
                  ", the internal Neutron port " + jget::str(pf.if_contains("internal_port_id")) + " can not reach it");
  }

  static Status check_internal_ip(const Model& m, const Obj& pf) {
    const Obj* port = m.find("ports", jget::str(pf.if_contains("internal_port_id")));
    if (port)
      for (const auto& f : port->at("fixed_ips").as_array())
        if (jget::str(f.as_object().if_contains("ip_address")) == jget::str(pf.if_contains("internal_ip_address"))) return {};
    return bad_pf("The internal IP does not correspond to an address on the internal port, which has fixed_ips " +
                  (port ? fixed_ips_repr(*port) : std::string("[]")));
  }

  ResourceDef def_ = pf_def();
};

}  // namespace

void remove_forwarding(Txn& txn, const std::string& id) {
  const Obj* pf = txn.model().find("port_forwardings", id);
  if (!pf) return;
  auto fip_id = jget::str(pf->if_contains("floatingip_id"));
  txn.erase("port_forwardings", id);
  const Obj* fip = txn.model().find("floatingips", fip_id);
  if (fip && forwardings_of_fip(txn.model(), fip_id).empty() && !jget::str(fip->if_contains("router_id")).empty() &&
      jget::str(fip->if_contains("port_id")).empty()) {
    Obj next = *fip;
    next["router_id"] = nullptr;
    txn.put("floatingips", std::move(next));
  }
}

json::array forwardings_summary(const Model& m, const std::string& fip_id) {
  json::array out;
  for (const Obj* pf : forwardings_of_fip(m, fip_id)) {
    json::object o;
    for (const char* k : {"id", "internal_ip_address", "protocol", "internal_port", "external_port", "internal_port_id"})
      if (auto* v = pf->if_contains(k); v && !v->is_null()) o[k] = *v;
    out.push_back(std::move(o));
  }
  return out;
}

bool fip_has_forwardings(const Model& m, const std::string& fip_id) { return !forwardings_of_fip(m, fip_id).empty(); }

void remove_forwardings_of_port(Txn& txn, const Obj& port, bool deleted) {
  auto port_id = jget::str(port.if_contains("id"));
  std::set<std::string> ips;
  for (const auto& f : port.at("fixed_ips").as_array()) ips.insert(jget::str(f.as_object().if_contains("ip_address")));
  std::vector<std::string> gone;
  if (const Table* t = txn.model().find_table("port_forwardings"))
    for (const auto& [id, pf] : *t)
      if (jget::str(pf.if_contains("internal_port_id")) == port_id &&
          (deleted || !ips.count(jget::str(pf.if_contains("internal_ip_address")))))
        gone.push_back(id);
  for (const auto& id : gone) remove_forwarding(txn, id);
}

std::unique_ptr<Handler> make_port_forwardings(const Settings& s) { return std::make_unique<PortForwardings>(s); }

namespace {
// The forwarding `id` of floating IP `fip_id`, if the caller may see both.
Status find_forwarding(Handler& h, const Model& m, const Ctx& ctx, const std::string& fip_id, const std::string& id) {
  NT_ASSIGN(const Obj* pf, find_visible(h, m, ctx, id));
  if (jget::str(pf->if_contains("floatingip_id")) != fip_id) return not_found(h.def().not_found, h.def().missing(id));
  return {};
}
}  // namespace

Result<std::string> port_forwardings_read(Handler& h, Handler& fips, const Model& m, const Ctx& ctx,
                                          const std::vector<std::string>& path, const Params& params,
                                          const std::string& base_url) {
  NT_TRY(find_visible(fips, m, ctx, path[1]));
  if (path.size() == 4) {
    NT_TRY(find_forwarding(h, m, ctx, path[1], path[3]));
    NT_ASSIGN(auto shown, show_resource(h, m, ctx, path[3], params));
    return json::serialize(shown);
  }
  Params own;
  for (const auto& [k, v] : params) {
    // Neutron's attribute map lets these sort, but its database cannot.
    if (k == "sort_key" && (v == "external_port" || v == "external_port_range"))
      return fail(Errc::invalid_argument, "BadRequest", "Bad portforwardings request: '" + v + "' is an invalid attribute for sort key.");
    if (k != "floatingip_id") own.emplace_back(k, v);
  }
  own.emplace_back("floatingip_id", path[1]);
  NT_ASSIGN(auto text, list_resources(h, m, ctx, own, base_url + "/v2.0/floatingips/" + path[1] + "/port_forwardings"));
  // Neutron leaves out the single ports of forwardings of ranges in lists (not in shows).
  auto doc = json::parse(text);
  for (auto& item : doc.as_object()["port_forwardings"].as_array())
    for (const char* k : {"external_port", "internal_port"})
      if (auto* v = item.as_object().if_contains(k); v && v->is_null()) item.as_object().erase(k);
  return json::serialize(doc);
}

Result<json::value> port_forwardings_write(Handler& h, Handler& fips, Txn& txn, const Ctx& ctx, const std::string& method,
                                           const std::vector<std::string>& path, const std::string& body,
                                           const std::string& if_match) {
  auto& handler = static_cast<PortForwardings&>(h);
  if (path.size() == 3 && method == "POST") {
    NT_ASSIGN(auto doc, parse_json(body));
    // The floating IP is looked up after the request's ports are checked, as Neutron does.
    handler.parent_id = path[1];
    return create_resources(h, txn, ctx, doc);
  }
  if (path.size() != 4 || method == "POST")
    return fail(Errc::not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource.");
  NT_TRY(find_visible(fips, txn.model(), ctx, path[1]));
  if (method == "PUT") {
    NT_ASSIGN(auto doc, parse_json(body));
    // The body's shape is checked before the lookup, as for every resource.
    NT_ASSIGN(Obj item, unwrap_update(h.def(), doc));
    NT_TRY(check_update_shape(h.def(), item));
    NT_TRY(find_forwarding(h, txn.model(), ctx, path[1], path[3]));
    return update_resource(h, txn, ctx, path[3], doc, if_match);
  }
  NT_TRY(find_forwarding(h, txn.model(), ctx, path[1], path[3]));
  NT_TRY(delete_resource(h, txn, ctx, path[3], if_match));
  return json::value(nullptr);
}

}  // namespace nt
