// Security groups and rules: the per-project default group with its 4 rules, the 2 egress
// rules of every new group, rule validation with Neutron's exceptions, duplicates, in-use.
#include "api/handlers.h"
#include "common/uuid.h"

namespace nt {
namespace json = boost::json;

namespace {

const std::vector<std::string> kProtocols = {"ah", "dccp", "egp", "esp", "gre", "hopopt", "icmp", "igmp", "ip", "ipip",
                                             "ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt",
                                             "ipv6-opts", "ipv6-route", "ospf", "pgm", "rsvp", "sctp", "tcp", "udp",
                                             "udplite", "vrrp"};
const std::vector<std::string> kPortProtocols = {"tcp", "udp", "udplite", "sctp", "dccp", "6", "17", "136", "132", "33"};
const std::vector<std::string> kIcmpProtocols = {"icmp", "ipv6-icmp", "icmpv6", "1", "58"};

bool in(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

ResourceDef sg_def() {
  ResourceDef d{"security_group", "security_groups", "security-groups", "SecurityGroupNotFound",
                "Security group {} does not exist", standard_attrs()};
  d.attrs.push_back({"stateful", kPost | kPut | kFilter, check::boolean(), json::value(true)});
  d.attrs.push_back({"shared", kFilter, check::boolean(), std::nullopt});
  d.attrs.push_back({"security_group_rules", 0, check::any(), std::nullopt});
  return d;
}

ResourceDef rule_def() {
  ResourceDef d{"security_group_rule", "security_group_rules", "security-group-rules", "SecurityGroupRuleNotFound",
                "Security group rule {} does not exist", standard_attrs(false)};
  auto& a = d.attrs;
  a.push_back({"security_group_id", kPost | kFilter | kSort | kRequired, check::uuid(), std::nullopt});
  a.push_back({"direction", kPost | kFilter | kSort | kRequired, check::one_of({"ingress", "egress"}), std::nullopt});
  a.push_back({"ethertype", kPost | kFilter | kSort, check::string(8), json::value("IPv4")});
  a.push_back({"protocol", kPost | kFilter | kSort, check::nullable_string(40), json::value(nullptr)});
  a.push_back({"port_range_min", kPost | kFilter | kSort, check::any(), json::value(nullptr)});
  a.push_back({"port_range_max", kPost | kFilter | kSort, check::any(), json::value(nullptr)});
  a.push_back({"remote_ip_prefix", kPost | kFilter | kSort, check::any(), json::value(nullptr)});
  a.push_back({"remote_group_id", kPost | kFilter | kSort, check::nullable_uuid(), json::value(nullptr)});
  // No validator in Neutron 21 (security-groups-remote-address-group): any value that
  // names no group the caller sees is AddressGroupNotFound.
  a.push_back({"remote_address_group_id", kPost | kFilter | kSort, check::any(), json::value(nullptr)});
  a.push_back({"normalized_cidr", 0, check::any(), std::nullopt});
  // Kept for filtering, never shown: Neutron 21 shows it only with the
  // security-groups-default-rules extension, which we do not advertise. Rules carry no tags.
  a.push_back({"belongs_to_default_sg", kFilter | kInputOnly, check::boolean(), std::nullopt});
  for (auto& attr : a)
    if (attr.name == "tags") attr.flags = kInputOnly;
  return d;
}

Obj make_rule(const std::string& sg, const std::string& project, const std::string& direction, const std::string& ethertype,
              const json::value& remote_group, bool in_default) {
  Obj r{{"security_group_id", sg}, {"direction", direction}, {"ethertype", ethertype}, {"protocol", nullptr},
        {"port_range_min", nullptr}, {"port_range_max", nullptr}, {"remote_ip_prefix", nullptr},
        {"remote_group_id", remote_group}, {"remote_address_group_id", nullptr}, {"normalized_cidr", nullptr},
        {"description", ""}, {"tags", json::array{}}, {"project_id", project}, {"tenant_id", project},
        {"belongs_to_default_sg", in_default}};
  return stamp_new(r);
}

nt::unexpected<Error> rule_error(const std::string& type, const std::string& message) {
  return fail(Errc::invalid_argument, type, message);
}

Result<json::value> port_value(const json::value& v, const char*) {
  if (v.is_null()) return v;
  auto r = check::integer(0, 65535)(v);
  if (!r) return fail(Errc::invalid_argument, "SecurityGroupInvalidPortValue", "Invalid value for port " + check::show(v) + ".");
  return *r;
}

// Protocol names and numbers compare equal for duplicate detection (Neutron's _rule_to_key).
std::string protocol_key(const json::value& p) {
  static const std::map<std::string, std::string> numbers = {
      {"icmp", "1"}, {"igmp", "2"}, {"tcp", "6"}, {"egp", "8"}, {"udp", "17"}, {"ipv6-encap", "41"},
      {"ipv6-route", "43"}, {"ipv6-frag", "44"}, {"rsvp", "46"}, {"gre", "47"}, {"esp", "50"}, {"ah", "51"},
      {"ipv6-icmp", "58"}, {"ipv6-nonxt", "59"}, {"ipv6-opts", "60"}, {"ospf", "89"}, {"ipip", "4"},
      {"pgm", "113"}, {"vrrp", "112"}, {"sctp", "132"}, {"udplite", "136"}, {"dccp", "33"}, {"hopopt", "0"}};
  if (p.is_null()) return "";
  auto name = jget::str(&p);
  auto it = numbers.find(name);
  return it == numbers.end() ? name : it->second;
}

// 0.0.0.0/0 and ::/0 mean the same as no prefix.
std::string prefix_key(const json::value& p) {
  auto text = jget::str(&p);
  return (text == "0.0.0.0/0" || text == "::/0") ? "" : text;
}

}  // namespace

std::string default_sg_id(const Model& m, const std::string& project) {
  if (const Table* t = m.find_table("security_groups"))
    for (const auto& [id, sg] : *t)
      if (jget::str(sg.if_contains("name")) == "default" && project_of(sg) == project) return id;
  return "";
}

bool has_default_sg(const Model& m, const std::string& project) { return !default_sg_id(m, project).empty(); }

Result<std::string> ensure_default_sg(Txn& txn, const std::string& project) {
  auto existing = default_sg_id(txn.model(), project);
  if (!existing.empty()) return existing;
  Obj sg{{"name", "default"}, {"description", "Default security group"}, {"stateful", true}, {"shared", false},
         {"tags", json::array{}}, {"project_id", project}, {"tenant_id", project}};
  stamp_new(sg);
  auto id = jget::str(sg.if_contains("id"));
  txn.put("security_groups", sg);
  for (const char* eth : {"IPv4", "IPv6"}) {
    txn.put("security_group_rules", make_rule(id, project, "egress", eth, nullptr, true));
    txn.put("security_group_rules", make_rule(id, project, "ingress", eth, json::value(id), true));
  }
  return id;
}

namespace {

class SecurityGroups final : public Handler {
 public:
  using Handler::Handler;
  const ResourceDef& def() const override { return def_; }
  // Own groups, and others' shared with the caller's project by RBAC (rbac-security-groups).
  bool visible(const Model& m, const Obj& o, const Ctx& ctx) const override {
    return rbac_readable(m, o, "security_groups", ctx);
  }
  bool needs_setup(const Model& m, const Ctx& ctx) const override { return !has_default_sg(m, ctx.project_id); }
  Status setup(Txn& txn, const Ctx& ctx) override {
    NT_TRY(ensure_default_sg(txn, ctx.project_id));
    return {};
  }

  bool decorates() const override { return true; }
  // A group's rules as the rules resource shows them.
  Obj decorate(const Model& m, const Obj& sg) const override {
    Obj out = sg;
    json::array rules;
    auto id = jget::str(sg.if_contains("id"));
    if (const Table* t = m.find_table("security_group_rules"))
      for (const auto& [rid, r] : *t)
        if (jget::str(r.if_contains("security_group_id")) == id) rules.push_back(render(rules_def_, r, internal_ctx()));
    out["security_group_rules"] = std::move(rules);
    return out;
  }

  Result<Obj> create(Txn& txn, Obj sg, const Ctx& ctx) override {
    if (jget::str(sg.if_contains("name")) == "default")
      return conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.");
    sg["shared"] = false;
    auto id = jget::str(sg.if_contains("id"));
    txn.put("security_groups", sg);
    for (const char* eth : {"IPv4", "IPv6"})
      txn.put("security_group_rules", make_rule(id, project_of(sg), "egress", eth, nullptr, false));
    return sg;
  }

  Result<Obj> update(Txn& txn, const Obj& current, const Obj& changes, const Ctx& ctx) override {
    auto* name = changes.if_contains("name");
    if (name && jget::str(name) != jget::str(current.if_contains("name"))) {
      if (jget::str(current.if_contains("name")) == "default")
        return conflict("SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.");
      if (jget::str(name) == "default")
        return conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.");
    }
    return Handler::update(txn, current, changes, ctx);
  }

  Status remove(Txn& txn, const Obj& sg, const Ctx& ctx) override {
    auto id = jget::str(sg.if_contains("id"));
    if (jget::str(sg.if_contains("name")) == "default" && !ctx.is_admin)
      return conflict("SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.");
    for (const auto& [pid, port] : txn.model().table("ports"))
      for (const auto& g : port.at("security_groups").as_array())
        if (jget::str(&g) == id) return conflict("SecurityGroupInUse", "Security Group " + id + " in use.");
    std::vector<std::string> rules;
    for (const auto& [rid, r] : txn.model().table("security_group_rules"))
      if (jget::str(r.if_contains("security_group_id")) == id || jget::str(r.if_contains("remote_group_id")) == id)
        rules.push_back(rid);
    for (const auto& rid : rules) txn.erase("security_group_rules", rid);
    drop_object_policies(txn, id);
    txn.erase("security_groups", id);
    return {};
  }

 private:
  ResourceDef rules_def_ = rule_def();
  ResourceDef def_ = sg_def();
};

class SecurityGroupRules final : public Handler {
 public:
  using Handler::Handler;
  const ResourceDef& def() const override { return def_; }

  // A rule is the rule's owner's and also its group's owner's to see (an admin may add
  // rules to a project's group), as in Neutron.
  bool visible(const Model& m, const Obj& rule, const Ctx& ctx) const override {
    if (Handler::visible(m, rule, ctx)) return true;
    const Obj* sg = m.find("security_groups", jget::str(rule.if_contains("security_group_id")));
    return sg && project_of(*sg) == ctx.project_id;
  }

  Result<Obj> create(Txn& txn, Obj rule, const Ctx& ctx) override {
    auto sg_id = jget::str(rule.if_contains("security_group_id"));
    NT_TRY(normalize(txn.model(), rule, ctx));
    const Obj* sg = txn.model().find("security_groups", sg_id);
    if (!sg || (!ctx.is_admin && project_of(*sg) != ctx.project_id))
      return not_found("SecurityGroupNotFound", "Security group " + sg_id + " does not exist");
    if (auto dup = find_duplicate(txn.model(), rule); !dup.empty()) {
      for (const auto& row : txn.changes().rows)  // created earlier in this same bulk request
        if (row.kind == "security_group_rules" && row.id == dup)
          return conflict("DuplicateSecurityGroupRuleInPost", "Duplicate Security Group Rule in POST.");
      return conflict("SecurityGroupRuleExists", "Security group rule already exists. Rule id is " + dup + ".");
    }
    rule["belongs_to_default_sg"] = jget::str(sg->if_contains("name")) == "default";
    txn.put("security_group_rules", rule);
    bump_revision(txn, "security_groups", sg_id);
    return rule;
  }

  Status remove(Txn& txn, const Obj& rule, const Ctx& ctx) override {
    txn.erase("security_group_rules", jget::str(rule.if_contains("id")));
    bump_revision(txn, "security_groups", jget::str(rule.if_contains("security_group_id")));
    return {};
  }

 private:
  static Status normalize_protocol(Obj& rule) {
    auto* p = rule.if_contains("protocol");
    if (!p || p->is_null()) return {};
    std::string proto = jget::str(p);
    for (auto& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool numeric = !proto.empty() && proto.size() <= 3 && std::all_of(proto.begin(), proto.end(), ::isdigit);
    if (numeric && std::stoi(proto) <= 255) {
      rule["protocol"] = proto;
    } else if (in(kProtocols, proto)) {
      rule["protocol"] = proto == "icmpv6" ? "ipv6-icmp" : proto;
    } else {
      std::string list = "None";  // as Neutron prints its list
      for (const auto& x : kProtocols) list += ", '" + std::string(x) + "'";
      return rule_error("SecurityGroupRuleInvalidProtocol",
                        "Security group rule protocol " + jget::str(p) + " not supported. Only protocol values [" + list +
                            "] and integer representations [0 to 255] are supported.");
    }
    return {};
  }

  static Status check_ports(Obj& rule) {
    NT_ASSIGN(auto min, port_value(rule.at("port_range_min"), "port_range_min"));
    NT_ASSIGN(auto max, port_value(rule.at("port_range_max"), "port_range_max"));
    rule["port_range_min"] = min;
    rule["port_range_max"] = max;
    if (min.is_null() && max.is_null()) return {};
    auto proto = jget::str(rule.if_contains("protocol"));
    if (rule.at("protocol").is_null())
      return rule_error("SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.");
    if (in(kPortProtocols, proto)) {
      for (const auto* v : {&min, &max})
        if (!v->is_null() && v->as_int64() == 0)
          return rule_error("SecurityGroupInvalidPortValue", "Invalid value for port 0.");
      if (min.is_null() != max.is_null() || (!min.is_null() && min.as_int64() > max.as_int64()))
        return rule_error("SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max");
      return {};
    }
    if (in(kIcmpProtocols, proto)) {
      if (min.is_null())
        return rule_error("SecurityGroupMissingIcmpType", "ICMP code (port-range-max) " + check::show(max) +
                                                              " is provided but ICMP type (port-range-min) is missing.");
      const char* names[] = {"type", "code"};
      const char* attrs[] = {"port_range_min", "port_range_max"};
      int i = 0;
      for (const auto* v : {&min, &max}) {
        if (!v->is_null() && v->as_int64() > 255)
          return rule_error("SecurityGroupInvalidIcmpValue", std::string("Invalid value for ICMP ") + names[i] + " (" +
                                                                 attrs[i] + ") " + check::show(*v) + ". It must be 0 to 255.");
        ++i;
      }
      return {};
    }
    return rule_error("SecurityGroupInvalidProtoForPortRange",
                      "Invalid protocol " + proto + " for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.");
  }

  static Status normalize(const Model& m, Obj& rule, const Ctx& ctx) {
    auto eth = jget::str(rule.if_contains("ethertype"));
    std::string l = eth;
    for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (l != "ipv4" && l != "ipv6")
      return rule_error("SecurityGroupRuleInvalidEtherType", "Security group rule for ethertype '" + eth +
                                                                 "' not supported. Allowed values are ['IPv4', 'IPv6'].");
    eth = l == "ipv4" ? "IPv4" : "IPv6";
    rule["ethertype"] = eth;
    NT_TRY(normalize_protocol(rule));
    // As Neutron makes rules canonical before validating them: legacy IPv6 ICMP names, and
    // the whole port range (for any protocol) as no range.
    if (auto p = jget::str(rule.if_contains("protocol")); eth == "IPv6" && (p == "icmp" || p == "icmpv6")) rule["protocol"] = "ipv6-icmp";
    if (eth == "IPv6" && jget::str(rule.if_contains("protocol")) == "1") rule["protocol"] = "58";
    if (rule.at("port_range_min") == json::value(1) && rule.at("port_range_max") == json::value(65535))
      rule["port_range_min"] = nullptr, rule["port_range_max"] = nullptr;
    auto proto = jget::str(rule.if_contains("protocol"));
    if ((proto == "ipv6-icmp" || proto == "58") && eth == "IPv4")
      return rule_error("SecurityGroupEthertypeConflictWithProtocol",
                        "Invalid ethertype IPv4 for protocol " + proto + ".");
    NT_TRY(check_ports(rule));
    auto& prefix = rule["remote_ip_prefix"];
    if (!prefix.is_null()) {
      auto cidr = prefix.is_string() ? Cidr::parse(prefix.get_string()) : Result<Cidr>(bad_request(""));
      if (!cidr) return bad_request("Invalid input for remote_ip_prefix. Reason: '" + check::show(prefix) + "' is not a valid IP subnet.");
      if ((cidr->network.version == 4) != (eth == "IPv4"))
        return rule_error("SecurityGroupRuleParameterConflict",
                          "Conflicting value ethertype " + eth + " for CIDR " + jget::str(&prefix));
      rule["normalized_cidr"] = cidr->str();
    } else {
      rule["normalized_cidr"] = nullptr;
    }
    int remotes = 0;  // Neutron counts the ones given: a prefix, a group, an address group
    for (const char* k : {"remote_ip_prefix", "remote_group_id", "remote_address_group_id"}) remotes += !rule.at(k).is_null();
    if (remotes > 1)
      return rule_error("SecurityGroupMultipleRemoteEntites",
                        "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.");
    if (auto rg = jget::str(rule.if_contains("remote_group_id")); !rg.empty()) {
      const Obj* g = m.find("security_groups", rg);
      if (!g || (!ctx.is_admin && project_of(*g) != ctx.project_id))
        return not_found("SecurityGroupNotFound", "Security group " + rg + " does not exist");
    }
    if (const auto& ag = rule.at("remote_address_group_id"); !ag.is_null()) {
      auto id = ag.is_string() ? std::string(ag.get_string()) : check::show(ag);
      if (!ag.is_string() || !address_group_visible(m, id, ctx))
        return not_found("AddressGroupNotFound", "Address group " + id + " could not be found.");
    }
    return {};
  }

  static std::string find_duplicate(const Model& m, const Obj& rule) {
    static const char* keys[] = {"security_group_id", "direction", "ethertype", "port_range_min",
                                 "port_range_max", "remote_group_id", "remote_address_group_id"};
    if (const Table* t = m.find_table("security_group_rules"))
      for (const auto& [id, r] : *t) {
        bool same = protocol_key(r.at("protocol")) == protocol_key(rule.at("protocol")) &&
                    prefix_key(r.at("normalized_cidr")) == prefix_key(rule.at("normalized_cidr"));
        for (const char* k : keys) same = same && r.at(k) == rule.at(k);
        if (same) return id;
      }
    return "";
  }

  ResourceDef def_ = rule_def();
};

}  // namespace

std::unique_ptr<Handler> make_security_groups(const Settings& s) { return std::make_unique<SecurityGroups>(s); }
std::unique_ptr<Handler> make_security_group_rules(const Settings& s) { return std::make_unique<SecurityGroupRules>(s); }

}  // namespace nt
