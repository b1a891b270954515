// The agent side of the OpenStack metadata service, as Neutron's metadata proxy and agent
// together: VMs' requests to 169.254.169.254 arrive (after an nftables redirect) at a
// listener in a router's or network's namespace; the connection's local address names the
// network, its source address the port; the request goes on to Nova's metadata API with the
// instance's identity and Neutron's HMAC signature of it (X-Instance-ID-Signature).
//
// Answers (Neutron's metadata agent): no port for the source address -> 404; methods other
// than GET/HEAD/POST -> 405; a request that does not parse -> 400 (header over 8 KiB -> 431,
// body over 64 KiB -> 413); the backend not reachable (connect, 5 s, or TLS handshake) -> 503
// "The remote metadata server is temporarily unavailable. Please try again later."; no
// answer in time (10 s for the whole exchange) or a broken answer -> 500; anything the
// backend answers is relayed (status, Content-Type, body); a 403 is logged as a likely
// metadata_proxy_shared_secret mismatch.
#pragma once
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nt::metadata {

// The backend (Nova's metadata API), with Neutron's metadata_agent.ini option names.
struct BackendSettings {
  std::string host = "127.0.0.1";  // nova_metadata_host
  int port = 8775;                 // nova_metadata_port
  std::string protocol = "http";   // nova_metadata_protocol: http | https
  bool insecure = false;           // nova_metadata_insecure: no server certificate check
  std::string client_cert;         // nova_client_cert
  std::string client_key;          // nova_client_priv_key
  std::string ca_cert;             // auth_ca_cert ("" = the system's CAs)
  std::string shared_secret;       // metadata_proxy_shared_secret
};

// The port that owns a source address: its device (the instance) and project.
struct Identity {
  std::string port_id, device_id, project_id;
  bool operator==(const Identity&) const = default;
};

// One listening place: a namespace ("" = the agent's own), an address and a TCP port (0: the
// kernel picks one, see ProxyService::bound_port). `networks` maps each local address a
// request may arrive at (after an nftables redirect: the incoming interface's address) to
// the network whose ports may ask there; the key "*" stands for any other local address.
// A listener is identified by (netns, address, port); its networks may change in place.
struct ListenerSpec {
  std::string netns, address;
  uint16_t port = 0;
  std::map<std::string, std::string> networks;
  auto operator<=>(const ListenerSpec&) const = default;
};

// (network id, source IP) -> the port that owns that IP on this host.
using IdentityTable = std::map<std::pair<std::string, std::string>, Identity>;

// Neutron's sign_instance_id: lowercase hex HMAC-SHA256 of the instance id keyed with the
// shared secret (Python's hmac.new(secret, id, hashlib.sha256).hexdigest()).
std::string instance_signature(std::string_view secret, std::string_view instance_id);

// The proxy: one thread running Boost.Asio. At most 1024 connections at once (more are
// closed at once), 100 requests per kept-alive connection, 10 s to read a request.
class ProxyService {
 public:
  explicit ProxyService(BackendSettings settings);
  ~ProxyService();  // stops
  ProxyService(const ProxyService&) = delete;
  ProxyService& operator=(const ProxyService&) = delete;

  // Thread-safe; returns once applied. Opens the listeners that are new, closes those no
  // longer listed (connections in progress finish), keeps the others open (taking their new
  // `networks`), and replaces the identity table. A listener that fails to open (its
  // namespace missing, say) is logged, recorded in listener_errors() and tried again by
  // the next update.
  void update(std::vector<ListenerSpec> listeners, IdentityTable table);
  // The TCP port a listener of the last update is bound to (0 if it is not open).
  uint16_t bound_port(const ListenerSpec& spec) const;
  // The listener failures so far (the latest 100), for logs and tests.
  std::vector<std::string> listener_errors() const;
  // Closes every listener and connection and ends the thread; update() does nothing after.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nt::metadata
