// A structure-aware mutator for fuzz_api.cc: besides libFuzzer's byte mutations, it
// rewrites an input as a request — another method and resource path, a header a client
// could send, or the JSON body changed at one node: a value replaced by an edge case
// (huge or non-finite numbers, empty keys, bad UTF-8, lone surrogates, deep nesting, ids of
// existing resources), an attribute of any resource added, a key removed.
#include <boost/json.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {
namespace json = boost::json;
using Rng = std::minstd_rand;

const std::vector<std::string> kMethods = {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"};
const std::vector<std::string> kPaths = {
    "/v2.0/networks", "/v2.0/networks/$network", "/v2.0/subnets", "/v2.0/subnets/$subnet", "/v2.0/ports",
    "/v2.0/ports/$port", "/v2.0/routers", "/v2.0/routers/$router", "/v2.0/routers/$router/add_router_interface",
    "/v2.0/routers/$router/remove_router_interface", "/v2.0/routers/$router/add_extraroutes", "/v2.0/floatingips",
    "/v2.0/floatingips/$floatingip", "/v2.0/security-groups", "/v2.0/security-groups/$security_group",
    "/v2.0/security-group-rules", "/v2.0/quotas/fuzz-project", "/v2.0/networks/$network/tags/x",
    "/v2.0/networks/$network/tags", "/v2.0/agents", "/agent/v1/register", "/agent/v1/hosts/h1/status",
    "/agent/v1/hosts/h1/fip-gateway", "/v2.0/networks?fields=id&limit=2&marker=$network&sort_key=name",
    "/v2.0/ports?network_id=$network&fixed_ips=ip_address%3D10.0.0.5", "/v2.0/extensions"};
const std::vector<std::string> kHeaders = {
    "X-Project-Id: fuzz-project", "X-Project-Id: other-project", "X-Project-Id: \xff\xfe", "X-Roles: member",
    "X-Roles: admin", "X-Roles: reader", "If-Match: revision_number=1", "If-Match: revision_number=x",
    "X-Neutrino-Token: x", "X-Neutrino-Host-Token: 00", "Content-Type: text/plain"};
const std::vector<std::string> kAttributes = {
    "name", "admin_state_up", "shared", "router:external", "provider:network_type", "provider:physical_network",
    "provider:segmentation_id", "mtu", "port_security_enabled", "description", "tags", "dns_domain", "network_id",
    "cidr", "ip_version", "gateway_ip", "allocation_pools", "host_routes", "dns_nameservers", "enable_dhcp",
    "prefixlen", "ipv6_ra_mode", "ipv6_address_mode", "fixed_ips", "mac_address", "device_owner", "device_id",
    "binding:host_id", "binding:profile", "binding:vnic_type", "allowed_address_pairs", "security_groups",
    "extra_dhcp_opts", "dns_name", "external_gateway_info", "routes", "distributed", "ha", "floating_network_id",
    "port_id", "fixed_ip_address", "floating_ip_address", "subnet_id", "direction", "ethertype", "protocol",
    "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id", "security_group_id", "project_id",
    "tenant_id", "network", "subnet", "port", "router", "floatingip", "host", "agent_mode", "local_ip", "", "id"};
const std::vector<std::string> kValues = {
    "null", "true", "false", "0", "-1", "1e999", "-1e999", "18446744073709551616", "-9223372036854775809", "0.5",
    "\"\"", "\"\\u0000\"", "\"\\ud800\"", "\"\xff\xfe\"", "[]", "{}", "\"$network\"", "\"$subnet\"", "\"$port\"",
    "\"$router\"", "\"$security_group\"", "\"10.0.0.0/24\"", "\"10.0.0.1\"", "\"fa:16:3e:00:00:01\"",
    "\"network:router_interface\"", "\"vxlan\"", "\"flat\"", "\"physnet1\"", "[{\"subnet_id\": \"$subnet\"}]",
    "[{\"ip_address\": \"10.0.0.1\"}]", "{\"network_id\": \"$network\"}", "{\"\": 1}",
    std::string(200, '[') + std::string(200, ']'), "\"" + std::string(300, 'a') + "\"",
    "[{\"destination\": \"0.0.0.0/0\", \"nexthop\": \"10.0.0.1\"}]"};

const std::string kMark = "\x01mutated\x01";

template <class T>
const T& pick(const std::vector<T>& v, Rng& rng) { return v[rng() % v.size()]; }

// Every node of `v` (depth first), so one can be chosen uniformly.
void collect(json::value& v, std::vector<json::value*>& out) {
  out.push_back(&v);
  if (v.is_object())
    for (auto& kv : v.as_object()) collect(kv.value(), out);
  else if (v.is_array())
    for (auto& e : v.as_array()) collect(e, out);
}

// Changes one node; returns the serialized body with raw snippets spliced in.
std::string mutate_body(json::value doc, Rng& rng) {
  std::vector<json::value*> nodes;
  collect(doc, nodes);
  json::value* node = nodes[rng() % nodes.size()];
  switch (rng() % 3) {
    case 0:  // a value becomes an edge case
      *node = json::string(kMark);
      break;
    case 1:  // an attribute is added (to the nearest object)
      for (auto it = nodes.rbegin(); it != nodes.rend(); ++it)
        if ((*it)->is_object()) {
          (*it)->as_object()[pick(kAttributes, rng)] = json::string(kMark);
          break;
        }
      break;
    default:  // a key goes
      if (node->is_object() && !node->as_object().empty()) node->as_object().erase(node->as_object().begin());
      else *node = json::string(kMark);
  }
  auto text = json::serialize(doc);
  auto marked = json::serialize(json::value(json::string(kMark)));
  for (size_t at; (at = text.find(marked)) != std::string::npos;) text.replace(at, marked.size(), pick(kValues, rng));
  return text;
}

struct Parts {
  std::string request_line;
  std::vector<std::string> headers;
  std::string body;
};

Parts split(const std::string& text) {
  Parts p;
  size_t nl = text.find('\n');
  p.request_line = text.substr(0, nl);
  size_t pos = nl == std::string::npos ? text.size() : nl + 1;
  while (pos < text.size() && text[pos] != '{' && text[pos] != '[') {
    size_t end = text.find('\n', pos);
    auto line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (line.find(": ") == std::string::npos) break;
    p.headers.push_back(line);
    pos = end == std::string::npos ? text.size() : end + 1;
  }
  p.body = text.substr(pos);
  return p;
}

std::string join(const Parts& p) {
  std::string out = p.request_line + "\n";
  for (const auto& h : p.headers) out += h + "\n";
  return out + p.body;
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  Rng rng(seed);
  if (rng() % 3 == 0) return LLVMFuzzerMutate(data, size, max_size);
  Parts p = split(std::string(reinterpret_cast<const char*>(data), size));
  switch (rng() % 4) {
    case 0:
      p.request_line = pick(kMethods, rng) + " " + pick(kPaths, rng);
      break;
    case 1:
      if (p.headers.size() < 4) p.headers.push_back(pick(kHeaders, rng));
      else p.headers.erase(p.headers.begin() + rng() % p.headers.size());
      break;
    default: {
      boost::system::error_code ec;
      auto doc = json::parse(p.body, ec);
      if (ec) doc = json::object{{"network", json::object{}}};
      p.body = mutate_body(std::move(doc), rng);
    }
  }
  auto out = join(p);
  if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}
