#include "metadata/backend.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "common/json_get.h"
#include "common/names.h"
#include "common/net.h"

namespace nt::metadata {
namespace json = boost::json;

namespace {

// Nova's version lists (nova/api/metadata/base.py VERSIONS, OPENSTACK_VERSIONS); every
// version serves the same content here.
const std::vector<std::string> kEc2Versions = {"1.0",        "2007-01-19", "2007-03-01", "2007-08-29",
                                               "2007-10-10", "2007-12-15", "2008-02-01", "2008-09-01",
                                               "2009-04-04"};
const std::vector<std::string> kOpenStackVersions = {"2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15",
                                                     "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27",
                                                     "2020-10-14", "2025-04-04"};
constexpr uintmax_t kMaxFile = 1u << 20;
constexpr const char* kTextPlain = "text/plain; charset=UTF-8";

int status_of(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return 400;
    case Errc::unauthenticated: return 401;
    case Errc::forbidden: return 403;
    case Errc::not_found: return 404;
    case Errc::not_allowed: return 405;
    case Errc::not_acceptable: return 406;
    case Errc::conflict: return 409;
    case Errc::precondition_failed: return 412;
    case Errc::too_large: return 413;
    case Errc::header_too_large: return 431;
    case Errc::not_implemented: return 501;
    case Errc::unavailable: return 503;
    case Errc::unsupported_version: return 505;
    case Errc::internal: return 500;
  }
  return 500;
}

const char* reason_of(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Internal Server Error";
  }
}

HttpResponse refuse(Errc code, std::string message) {
  return Backend::render_error(Error{code, "", std::move(message), 0});
}
HttpResponse not_found() { return refuse(Errc::not_found, "The resource could not be found."); }

HttpResponse text(std::string body) { return HttpResponse{200, std::move(body), kTextPlain, {}, nullptr}; }
HttpResponse json_answer(const json::value& v) { return HttpResponse{200, json::serialize(v), "application/json", {}, nullptr}; }

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

// Neutron's sign_instance_id: lowercase hex HMAC-SHA256(secret, instance id).
std::string signature_of(const std::string& secret, const std::string& instance_id) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  static const unsigned char kNoKey = 0;
  const void* key = secret.empty() ? static_cast<const void*>(&kNoKey) : secret.data();
  if (!HMAC(EVP_sha256(), key, static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(instance_id.data()),
            instance_id.size(), mac, &len))
    return {};
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) out += hex[mac[i] >> 4], out += hex[mac[i] & 15];
  return out;
}

bool same_secret(const std::string& expected, const std::string& presented) {
  return !expected.empty() && expected.size() == presented.size() &&
         CRYPTO_memcmp(expected.data(), presented.data(), expected.size()) == 0;
}

// Only ids that can name no other file than their own directory.
bool safe_instance_id(const std::string& id) {
  if (id.empty() || id.size() > 255 || id == "." || id == "..") return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

// The path's segments as posixpath.normpath leaves them ("." dropped, ".." taken back).
std::vector<std::string> segments_of(const std::string& target) {
  auto path = target.substr(0, target.find_first_of("?#"));
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    auto seg = path.substr(start, end - start);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!seg.empty() && seg != ".") {
      out.push_back(std::move(seg));
    }
    start = end + 1;
  }
  return out;
}

std::string netmask_of(int version, int prefix) {
  IpAddress mask{version, 0};
  int bits = version == 4 ? 32 : 128;
  for (int i = 0; i < prefix && i < bits; ++i) mask.value |= u128(1) << (bits - 1 - i);
  return mask.str();
}

// What the answers need, copied out of the model under its lock.
struct FixedIp {
  std::string address, subnet_id, cidr, gateway, ipv6_address_mode;
  int version = 4;
  int prefix = 0;
  bool dhcp_server = false;  // a network:dhcp port serves this subnet (Nova: type ipv4_dhcp)
  std::vector<std::pair<std::string, std::string>> host_routes;  // destination, nexthop
  std::vector<std::string> dns;
};
struct PortInfo {
  std::string id, mac, network_id, dns_name;
  int64_t mtu = 0;
  std::vector<FixedIp> ips;
  std::vector<std::string> security_groups;  // names
};
struct Instance {
  std::string id, project;
  std::vector<PortInfo> ports;  // the requesting port first
  std::string address;          // the requesting address as the port holds it
  std::string floating_ip;
};

enum class Found { yes, no_instance, other_project, other_address };

Found find_instance(const Model& m, const std::string& id, const std::string& project, const IpAddress& from,
                    Instance& out) {
  const Table* ports = m.find_table("ports");
  if (!ports) return Found::no_instance;
  std::vector<const Obj*> mine;
  for (const auto& [pid, p] : *ports)
    if (jget::str(p, "device_id") == id && jget::str(p, "device_owner").rfind("network:", 0) != 0) mine.push_back(&p);
  if (mine.empty()) return Found::no_instance;
  // device_id is writable by a port's owner: ports of two projects claiming one instance
  // are no instance (its keys and user data are keyed by the id alone).
  for (const auto* p : mine)
    if (project_of(*p) != project_of(*mine.front())) return Found::no_instance;
  std::erase_if(mine, [&](const Obj* p) { return project_of(*p) != project; });
  if (mine.empty()) return Found::other_project;
  // The port holding the requesting address goes first.
  std::optional<size_t> at;
  for (size_t i = 0; i < mine.size() && !at; ++i)
    for (const auto& f : jget::arr(*mine[i], "fixed_ips")) {
      const auto* fo = f.if_object();
      if (!fo) continue;
      auto ip = IpAddress::parse(jget::str(*fo, "ip_address"));
      if (ip && *ip == from) {
        at = i;
        out.address = jget::str(*fo, "ip_address");
        break;
      }
    }
  if (!at) return Found::other_address;
  std::rotate(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(*at), mine.begin() + static_cast<std::ptrdiff_t>(*at) + 1);
  out.id = id;
  out.project = project;
  for (const Obj* p : mine) {
    PortInfo info;
    info.id = jget::str(*p, "id");
    info.mac = jget::str(*p, "mac_address");
    info.network_id = jget::str(*p, "network_id");
    info.dns_name = jget::str(*p, "dns_name");
    if (const Obj* net = m.find("networks", info.network_id)) info.mtu = jget::num(*net, "mtu");
    for (const auto& sg : jget::arr(*p, "security_groups"))
      if (const Obj* g = sg.is_string() ? m.find("security_groups", std::string(sg.get_string())) : nullptr)
        info.security_groups.push_back(jget::str(*g, "name"));
    // Subnets a network:dhcp port serves on this network.
    std::vector<std::string> dhcp_subnets;
    if (auto it = m.ports_by_network.find(info.network_id); it != m.ports_by_network.end())
      for (const auto& other_id : it->second)
        if (const Obj* other = m.find("ports", other_id); other && jget::str(*other, "device_owner") == owner::kDhcp)
          for (const auto& f : jget::arr(*other, "fixed_ips"))
            if (f.is_object()) dhcp_subnets.push_back(jget::str(f.as_object(), "subnet_id"));
    for (const auto& f : jget::arr(*p, "fixed_ips")) {
      if (!f.is_object()) continue;
      FixedIp ip;
      ip.address = jget::str(f.as_object(), "ip_address");
      ip.subnet_id = jget::str(f.as_object(), "subnet_id");
      const Obj* sub = m.find("subnets", ip.subnet_id);
      if (!sub) continue;
      auto cidr = Cidr::parse(jget::str(*sub, "cidr"));
      if (!cidr) continue;
      ip.cidr = cidr->str();
      ip.version = cidr->network.version;
      ip.prefix = cidr->prefix;
      ip.gateway = jget::str(*sub, "gateway_ip");
      ip.ipv6_address_mode = jget::str(*sub, "ipv6_address_mode");
      ip.dhcp_server = jget::flag(*sub, "enable_dhcp", false) &&
                       std::find(dhcp_subnets.begin(), dhcp_subnets.end(), ip.subnet_id) != dhcp_subnets.end();
      for (const auto& r : jget::arr(*sub, "host_routes"))
        if (r.is_object()) ip.host_routes.emplace_back(jget::str(r.as_object(), "destination"), jget::str(r.as_object(), "nexthop"));
      for (const auto& d : jget::arr(*sub, "dns_nameservers"))
        if (d.is_string()) ip.dns.emplace_back(d.get_string());
      info.ips.push_back(std::move(ip));
    }
    out.ports.push_back(std::move(info));
  }
  // A floating IP of the requesting address first, else any of the instance's.
  if (const Table* fips = m.find_table("floatingips")) {
    std::string any;
    for (const auto& [fid, fip] : *fips) {
      auto port = jget::str(fip, "port_id");
      bool ours = std::any_of(out.ports.begin(), out.ports.end(), [&](const PortInfo& p) { return p.id == port; });
      if (!ours) continue;
      auto address = jget::str(fip, "floating_ip_address");
      if (port == out.ports.front().id && jget::str(fip, "fixed_ip_address") == out.address) {
        out.floating_ip = address;
        break;
      }
      if (any.empty()) any = address;
    }
    if (out.floating_ip.empty()) out.floating_ip = any;
  }
  return Found::yes;
}

std::optional<std::string> read_capped(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return std::nullopt;
  if (size > kMaxFile) {
    spdlog::warn("metadata: {} is larger than {} bytes; not served", path.string(), kMaxFile);
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data(static_cast<size_t>(size), '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  data.resize(static_cast<size_t>(in.gcount()));
  return data;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

bool looks_like_key_type(const std::string& word) {
  return word.rfind("ssh-", 0) == 0 || word.rfind("ecdsa-", 0) == 0 || word.rfind("sk-", 0) == 0;
}

// public_keys: one key a line, "name key" or just the key (named key-<n>); blank lines and
// "#" comments skipped; a name given twice keeps its first key.
std::vector<std::pair<std::string, std::string>> parse_keys(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> keys;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    auto line = trim(text.substr(start, end - start));
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    auto space = line.find_first_of(" \t");
    auto first = line.substr(0, space);
    std::string name, key;
    if (looks_like_key_type(first) || space == std::string::npos) {
      name = "key-" + std::to_string(keys.size());
      key = line;
    } else {
      name = first;
      key = trim(line.substr(space));
    }
    if (key.empty() || std::any_of(keys.begin(), keys.end(), [&](const auto& k) { return k.first == name; })) continue;
    keys.emplace_back(std::move(name), std::move(key));
  }
  return keys;
}

std::string hostname_of(const Instance& inst) {
  auto name = inst.ports.front().dns_name;
  while (!name.empty() && name.back() == '.') name.pop_back();
  if (!name.empty()) return name;
  auto ip = inst.address;
  std::replace(ip.begin(), ip.end(), '.', '-');
  std::replace(ip.begin(), ip.end(), ':', '-');
  return "host-" + ip;
}

struct Files {
  std::vector<std::pair<std::string, std::string>> keys;
  std::optional<std::string> user_data;
};

json::value meta_data(const Instance& inst, const Files& files) {
  json::object public_keys;
  json::array keys;
  for (const auto& [name, key] : files.keys) {
    public_keys[name] = key;
    keys.push_back(json::object{{"name", name}, {"type", "ssh"}, {"data", key}});
  }
  auto host = hostname_of(inst);
  return json::object{{"uuid", inst.id},
                      {"name", host},
                      {"hostname", host},
                      {"launch_index", 0},
                      {"availability_zone", "nova"},
                      {"project_id", inst.project},
                      {"public_keys", std::move(public_keys)},
                      {"keys", std::move(keys)},
                      {"meta", json::object{}},
                      {"devices", json::array{}}};
}

// Nova's netutils.get_network_metadata: one link per port, one network per fixed IP.
json::value network_data(const Instance& inst) {
  json::array links, networks, services;
  auto add_service = [&](const std::string& address) {
    json::value s = json::object{{"type", "dns"}, {"address", address}};
    if (std::find(services.begin(), services.end(), s) == services.end()) services.push_back(s);
  };
  int n = 0;
  for (const auto& port : inst.ports) {
    auto link = "tap" + port.id.substr(0, 11);
    json::object l{{"id", link}, {"vif_id", port.id}, {"type", "phy"}, {"ethernet_mac_address", port.mac}};
    l["mtu"] = port.mtu > 0 ? json::value(port.mtu) : json::value(nullptr);
    links.push_back(std::move(l));
    for (const auto& ip : port.ips) {
      json::object net{{"id", "network" + std::to_string(n++)}, {"link", link}, {"network_id", port.network_id}};
      auto v = "ipv" + std::to_string(ip.version);
      if (ip.dhcp_server && (ip.version == 4 || ip.ipv6_address_mode == "dhcpv6-stateful")) {
        net["type"] = v + "_dhcp";
        networks.push_back(std::move(net));
        continue;
      }
      net["type"] = ip.version == 6 && !ip.ipv6_address_mode.empty() ? v + "_" + ip.ipv6_address_mode : v;
      net["ip_address"] = ip.address;
      net["netmask"] = netmask_of(ip.version, ip.prefix);
      json::array routes;
      if (!ip.gateway.empty())
        routes.push_back(json::object{{"network", ip.version == 4 ? "0.0.0.0" : "::"},
                                      {"netmask", ip.version == 4 ? "0.0.0.0" : "::"},
                                      {"gateway", ip.gateway}});
      for (const auto& [destination, nexthop] : ip.host_routes)
        if (auto c = Cidr::parse(destination))
          routes.push_back(json::object{{"network", c->network.str()},
                                        {"netmask", netmask_of(c->network.version, c->prefix)},
                                        {"gateway", nexthop}});
      net["routes"] = std::move(routes);
      json::array dns;
      for (const auto& d : ip.dns) {
        dns.push_back(json::object{{"type", "dns"}, {"address", d}});
        add_service(d);
      }
      net["services"] = std::move(dns);
      networks.push_back(std::move(net));
    }
  }
  return json::object{{"links", std::move(links)}, {"networks", std::move(networks)}, {"services", std::move(services)}};
}

// The EC2 tree: a leaf has a value, a directory has children (listed as "key/", or by
// its `name`, as Nova's "_name").
struct Node {
  std::string value;
  std::optional<std::string> name;
  std::map<std::string, Node> children;
  bool dir = false;
};
Node leaf(std::string v) { return Node{std::move(v), std::nullopt, {}, false}; }
Node dir(std::map<std::string, Node> children, std::optional<std::string> name = std::nullopt) {
  return Node{"", std::move(name), std::move(children), true};
}

Node ec2_tree(const Instance& inst, const Files& files) {
  auto host = hostname_of(inst);
  const auto& port = inst.ports.front();
  std::string local_ipv4;
  if (inst.address.find(':') == std::string::npos) local_ipv4 = inst.address;
  for (const auto& p : inst.ports)
    for (const auto& ip : p.ips)
      if (local_ipv4.empty() && ip.version == 4) local_ipv4 = ip.address;
  std::string groups;
  for (const auto& g : port.security_groups) groups += (groups.empty() ? "" : "\n") + g;
  std::map<std::string, Node> md{
      {"ami-launch-index", leaf("0")},
      {"hostname", leaf(host)},
      {"instance-action", leaf("none")},
      {"instance-id", leaf(inst.id)},
      {"local-hostname", leaf(host)},
      {"local-ipv4", leaf(local_ipv4)},
      {"mac", leaf(port.mac)},
      {"placement", dir({{"availability-zone", leaf("nova")}})},
      {"public-hostname", leaf(host)},
      {"public-ipv4", leaf(inst.floating_ip)},
      {"security-groups", leaf(groups)},
  };
  if (!files.keys.empty()) {
    std::map<std::string, Node> keys;
    for (size_t i = 0; i < files.keys.size(); ++i)
      keys.emplace(std::to_string(i), dir({{"openssh-key", leaf(files.keys[i].second)}},
                                          std::to_string(i) + "=" + files.keys[i].first));
    md.emplace("public-keys", dir(std::move(keys)));
  }
  std::map<std::string, Node> top{{"meta-data", dir(std::move(md))}};
  if (files.user_data) top.emplace("user-data", leaf(*files.user_data));
  return dir(std::move(top));
}

// Nova's ec2_md_print.
std::string print(const Node& node) {
  if (!node.dir) return node.value;
  std::vector<std::string> lines;
  for (const auto& [key, child] : node.children)
    lines.push_back(child.dir ? (child.name ? *child.name : key + "/") : key);
  return join_lines(lines);
}

}  // namespace

Backend::Backend(BackendOptions options, const Model& model, ReadLock read_lock)
    : options_(std::move(options)), model_(model), read_lock_(std::move(read_lock)) {}

HttpResponse Backend::render_error(const Error& e) {
  int status = status_of(e.code);
  auto line = std::to_string(status) + " " + reason_of(status);
  return HttpResponse{status, line + "\n\n" + e.message + "\n", kTextPlain, {}, nullptr};
}

HttpResponse Backend::answer(const HttpRequest& req) const {
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = refuse(Errc::not_allowed, "The method " + req.method + " is not allowed for this resource.");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  auto seg = segments_of(req.target);
  if (seg.empty()) {  // "/": Nova answers the EC2 versions before looking at any header
    auto versions = kEc2Versions;
    versions.push_back("latest");
    return text(join_lines(versions));
  }
  // Nova's _handle_instance_id_request, in its order.
  auto has = [&](const char* name) { return req.headers.count(name) != 0; };
  if (!has("x-instance-id")) return refuse(Errc::invalid_argument, "X-Instance-ID header is missing from request.");
  if (!has("x-instance-id-signature"))
    return refuse(Errc::invalid_argument, "X-Instance-ID-Signature header is missing from request.");
  if (!has("x-tenant-id")) return refuse(Errc::invalid_argument, "X-Tenant-ID header is missing from request.");
  if (!has("x-forwarded-for")) return refuse(Errc::invalid_argument, "X-Forwarded-For header is missing from request.");
  auto instance_id = req.header("x-instance-id");
  auto project = req.header("x-tenant-id");
  auto forwarded = req.header("x-forwarded-for");
  if (!same_secret(signature_of(options_.shared_secret, instance_id), req.header("x-instance-id-signature"))) {
    spdlog::warn("metadata: X-Instance-ID-Signature does not match for instance {:.80} from {:.60} "
                 "(metadata_proxy_shared_secret differs?)", instance_id, forwarded);
    return refuse(Errc::forbidden, "Invalid proxy request signature.");
  }
  auto from = IpAddress::parse(trim(forwarded));
  if (!from) return refuse(Errc::invalid_argument, "X-Forwarded-For is not an IP address.");
  if (!safe_instance_id(instance_id)) {
    spdlog::warn("metadata: instance id {:.80} refused (only [A-Za-z0-9_.-] are served)", instance_id);
    return not_found();
  }
  Instance inst;
  Found found;
  {
    auto lock = read_lock_();
    found = find_instance(model_, instance_id, project, *from, inst);
  }
  if (found != Found::yes) {
    if (found == Found::other_project)
      spdlog::warn("metadata: X-Tenant-ID {:.80} is not the project of instance {}", project, instance_id);
    else if (found == Found::other_address)
      spdlog::warn("metadata: {} is no fixed IP of instance {}", from->str(), instance_id);
    return not_found();
  }
  Files files;
  if (!options_.instance_data_dir.empty()) {
    auto base = std::filesystem::path(options_.instance_data_dir) / instance_id;
    if (auto keys = read_capped(base / "public_keys")) files.keys = parse_keys(*keys);
    files.user_data = read_capped(base / "user_data");
  }

  if (seg[0] == "openstack") {
    if (seg.size() == 1) {
      auto versions = kOpenStackVersions;
      versions.push_back("latest");
      return text(join_lines(versions));
    }
    if (seg[1] != "latest" && std::find(kOpenStackVersions.begin(), kOpenStackVersions.end(), seg[1]) == kOpenStackVersions.end())
      return not_found();
    if (seg.size() == 2) {
      std::vector<std::string> items{"meta_data.json"};
      if (files.user_data) items.push_back("user_data");
      for (const char* f : {"password", "vendor_data.json", "network_data.json", "vendor_data2.json"}) items.push_back(f);
      return text(join_lines(items));
    }
    if (seg.size() > 3) return not_found();
    const auto& item = seg[2];
    if (item == "meta_data.json") return json_answer(meta_data(inst, files));
    if (item == "network_data.json") return json_answer(network_data(inst));
    if (item == "vendor_data.json" || item == "vendor_data2.json") return json_answer(json::object{});
    if (item == "password") return text("");
    if (item == "user_data") return files.user_data ? text(*files.user_data) : not_found();
    return not_found();
  }
  // EC2: /<version>/...
  if (seg[0] != "latest" && std::find(kEc2Versions.begin(), kEc2Versions.end(), seg[0]) == kEc2Versions.end())
    return not_found();
  Node tree = ec2_tree(inst, files);
  const Node* node = &tree;
  for (size_t i = 1; i < seg.size(); ++i) {
    if (!node->dir) return not_found();
    auto it = node->children.find(seg[i]);
    if (it == node->children.end()) return not_found();
    node = &it->second;
  }
  return text(print(*node));
}

}  // namespace nt::metadata
