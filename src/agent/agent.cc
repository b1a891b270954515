#include "agent/agent.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <pthread.h>
#include <csignal>
#include <atomic>
#include <boost/json.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <ostream>
#include <thread>

#include "agent/client.h"
#include "agent/dhcp_server.h"
#include "agent/metadata_plan.h"
#include "agent/metrics.h"
#include "agent/probe.h"
#include "agent/watch_line.h"
#include "kernel/dhcp_socket.h"
#include "channel/messages.h"
#include "channel/view_digest.h"
#include "common/json_get.h"
#include "agent/l3_runner.h"
#include "common/config.h"
#include "common/names.h"
#include "common/net.h"
#include "kernel/host.h"
#include "kernel/netlink_kernel.h"
#include "kernel/netns.h"
#include "kernel/plumbing.h"

namespace nt::agent {
namespace json = boost::json;

namespace {

// Operations that change FDB and neighbour entries and nothing else of the host.
bool only_entries(const std::vector<kernel::Op>& ops) {
  using kernel::Op;
  return std::all_of(ops.begin(), ops.end(), [](const Op& op) {
    return op.kind == Op::add_fdb || op.kind == Op::del_fdb || op.kind == Op::add_neigh || op.kind == Op::del_neigh;
  });
}

const std::vector<OptionSpec>& agent_schema() {
  using T = OptType;
  static const std::vector<OptionSpec> schema = {
      {"DEFAULT", "host", T::string, "", "this host's name, as in binding:host_id"},
      {"DEFAULT", "local_ip", T::string, "", "VTEP address on the underlay"},
      {"DEFAULT", "agent_mode", T::string, "dvr", "dvr (compute) or dvr_snat (gateway)"},
      {"DEFAULT", "bridge_mappings", T::list, "", "physnet:interface,..."},
      {"DEFAULT", "server_url", T::string, "http://127.0.0.1:9696",
       "http://host:port or unix:///path, or a list of them (comma or space separated): the next is tried when one fails"},
      {"DEFAULT", "token", T::string, "", "the server's [agent] token"},
      {"DEFAULT", "namespace_prefix", T::string, "", "prefix of the namespaces the agent makes"},
      {"DEFAULT", "state_path", T::string, "/var/lib/neutrino", "where the agent keeps the host token the server issued"},
      {"DEFAULT", "report_interval", T::integer, "2", "seconds between heartbeats", 1, 3600},
      {"DEFAULT", "debug", T::boolean, "false", ""},
      // Neutron's metadata agent options (metadata_agent.ini [DEFAULT]).
      {"DEFAULT", "nova_metadata_host", T::string, "127.0.0.1", "the metadata backend (Nova's metadata API or neutrino-server's [metadata] listen)"},
      {"DEFAULT", "nova_metadata_port", T::integer, "8775", "", 1, 65535},
      {"DEFAULT", "nova_metadata_protocol", T::string, "http", "http or https"},
      {"DEFAULT", "nova_metadata_insecure", T::boolean, "false", "https without checking the backend's certificate"},
      {"DEFAULT", "nova_client_cert", T::string, "", "client certificate for https"},
      {"DEFAULT", "nova_client_priv_key", T::string, "", "its private key"},
      {"DEFAULT", "auth_ca_cert", T::string, "", "CA bundle the backend's certificate is checked against"},
      {"DEFAULT", "metadata_proxy_shared_secret", T::string, "", "signs X-Instance-ID (X-Instance-ID-Signature)"},
      {"DEFAULT", "metrics_bind", T::string, "", "address:port of the local /metrics and /healthz listener (empty: none)"},
      // Gateway HA: BFD inside the tunnels (a management VNI, RFC 8971's way).
      {"ha", "enabled", T::boolean, "true", "run BFD with the gateway hosts of this host's routers and fail over locally"},
      {"ha", "management_vni", T::integer, "16777215", "VNI of the BFD management device; keep it outside vni_ranges", 1, 16777215},
      {"ha", "bfd_min_tx_ms", T::integer, "100", "desired BFD transmit interval", 10, 60000},
      {"ha", "bfd_min_rx_ms", T::integer, "100", "required BFD receive interval", 10, 60000},
      {"ha", "bfd_detect_mult", T::integer, "3", "BFD detection multiplier", 1, 255},
      {"ha", "bfd_binary", T::string, "", "the neutrino-bfd program (empty: next to neutrino-agent)"},
  };
  return schema;
}

// "up" for each port whose tap is in its network's bridge and up, else "down".
std::map<std::string, std::string> port_states(const HostView& view, const kernel::State& actual) {
  std::map<std::string, std::string> out;
  for (const auto& [id, port] : view.ports) {
    auto net = view.networks.find(port.network_id);
    auto tap = actual.links.find(port.device);
    bool up = net != view.networks.end() && tap != actual.links.end() && tap->second.up && tap->second.master == net->second.bridge;
    out[id] = up ? "up" : "down";
  }
  return out;
}

class Agent {
 public:
  Agent(const AgentConfig& c, std::unique_ptr<kernel::Kernel> k, bool dry_run)
      : config_(c), host_(kernel::open_netlink_host(std::move(k))), kernel_(&host_->root()),
        client_(*parse_server_urls(c.server_url), c.token), dry_run_(dry_run), l3_(c.namespace_prefix, *host_, dry_run) {
    if (dry_run) return;
    // DHCP and the metadata proxy serve from the agent's own threads; they outlive a
    // lost watch (the last view keeps being served) and stop with the agent.
    dhcp_ = std::make_unique<DhcpServer>([](const std::string& tap) { return kernel::open_dhcp_socket("", tap); });
    dhcp_->start();
    proxy_ = std::make_unique<metadata::ProxyService>(c.metadata);
    // A session changing state runs a pass at once (failover), and the new roles are reported.
    if (c.bfd.enabled)
      bfd_ = std::make_unique<BfdClient>(c.bfd, [this] {
        if (stopping_) return;
        reconcile();
        if (take_roles_changed()) report();
      });
    if (bfd_) metrics_.follow_bfd([this] { return bfd_->states(); });
  }

  ~Agent() { bfd_.reset(); }  // its thread calls into the agent: stopped first

  void register_host() {
    channel::Registration reg{config_.host, config_.agent_mode, config_.l2.local_ip, config_.l2.bridge_mappings,
                              std::vector<std::string>{}, std::map<std::string, std::string>{}, "0.1"};
    for (const char* type : {"flat", "vlan", "vxlan", "geneve"}) {
      auto it = config_.l2.unsupported_types.find(type);
      if (it == config_.l2.unsupported_types.end()) reg.network_types->push_back(type);
      else (*reg.unsupported_network_types)[type] = it->second;
    }
    auto body = channel::encode(reg);
    auto token_file = host_token_file(config_);
    client_.set_host_token(read_host_token(token_file));
    while (!stopping_) {
      auto r = client_.post("/agent/v1/register", body);
      if (r) {
        keep_issued_token(*r, token_file);
        return spdlog::info("registered host {} with the server", config_.host);
      }
      bool refused = r.error().code == Errc::unauthenticated;
      if (client_.take_retry_now()) {  // another server in the list: at once
        spdlog::warn("register: {}; retrying on {} now", r.error().message, client_.current_server());
        continue;
      }
      spdlog::warn("register: {}; retrying in {} s", r.error().message, refused ? 5 : 1);
      for (int i = 0; i < (refused ? 50 : 10) && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // A first enrolment answers the host's own token: the channel uses it from now on, and
  // it is kept for the agent's next start.
  void keep_issued_token(const std::string& answer, const std::string& file) {
    boost::system::error_code ec;
    auto doc = json::parse(answer, ec);
    auto token = !ec && doc.is_object() ? jget::opt_str(doc.as_object(), "host_token") : std::nullopt;
    if (!token) return;
    client_.set_host_token(*token);
    if (auto w = write_host_token(file, *token); !w)
      spdlog::error("cannot keep the host token: {}; after a restart this host must be enrolled anew", w.error().message);
    else
      spdlog::info("enrolled: the host token is kept in {}", file);
  }

  // Reconciles the kernel with the current view; returns the number of operations.
  // Nothing happens before the first complete view: a partial one would tear down what
  // is right (and lose traffic after a restart). The pass works on a snapshot of the
  // view: the watch goes on taking lines while the kernel is read and written.
  size_t reconcile() {
    std::lock_guard one_pass(pass_mu_);
    Snapshot snap;
    {
      std::lock_guard g(mu_);
      if (!have_view_) return 0;
      snap = Snapshot{view_, rev_, undecodable_ == 0};
    }
    std::set<std::string> fip_requests;
    auto started = std::chrono::steady_clock::now();
    size_t changes = pass(snap, fip_requests);
    record_pass(started, changes, snap.revision);
    // The server makes this host's floating IP gateway ports on request (as Neutron's).
    for (const auto& net : fip_requests)
      if (auto r = client_.post("/agent/v1/hosts/" + config_.host + "/fip-gateway", channel::encode(channel::FipGatewayRequest{net}));
          !r)
        spdlog::warn("fip gateway port on {}: {}", net, r.error().message);
    return changes;
  }

  void record_pass(std::chrono::steady_clock::time_point started, size_t changes, int64_t revision) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::lock_guard g(mu_);
    metrics_.pass(seconds, changes, applied_ == revision, revision, applied_);
  }

  struct Snapshot {
    std::shared_ptr<const HostView> view;
    int64_t revision = -1;  // the view revision it is
    bool decoded = true;    // every line of it decoded
  };

  // One pass against the kernel (pass_mu_ held: one at a time).
  size_t pass(const Snapshot& snap, std::set<std::string>& fip_requests) {
    // The host is read once per pass, and again only after something changed in it.
    auto actual = kernel_->read();
    if (!actual) return spdlog::error("reading the kernel: {}", actual.error().message), 0;
    // Gateway HA: the sessions this view calls for, and the roles as this host sees them.
    L2Settings l2 = config_.l2;
    if (l2.bfd_vni) l2.bfd_peers = bfd_peers(*snap.view, l2.local_ip);
    // The daemon runs on its device, which the L2 step makes: on a new gateway host it is
    // started after this pass made it, not spawned (and waited for) before it can run.
    bool bfd_device = actual->links.count(std::string(devname::kBfdDevice)) > 0;
    if (bfd_ && bfd_device) bfd_->configure(l2.bfd_peers);
    // A starting agent adopts the running daemon's sessions before deciding anything, so a
    // restart moves no role and no FDB entry. Without the device no daemon runs to adopt.
    if (bfd_ && !l2.bfd_peers.empty() && !bfd_known_) {
      if (bfd_device && !bfd_->wait_known(std::chrono::seconds(3)))
        spdlog::warn("BFD daemon not answering yet: deciding without it for now");
      bfd_known_ = true;  // waited once; a daemon that comes later is followed as it speaks
    }
    HostView realised;
    std::map<std::string, std::string> roles, current;
    {
      std::lock_guard g(mu_);
      current = roles_;
    }
    bool differs = apply_gateway_roles(*snap.view, l2.local_ip, bfd_ ? bfd_->liveness() : Liveness{}, current, realised, roles);
    note_roles(roles);
    auto changes = pass_on(snap, differs ? realised : *snap.view, l2, std::move(actual), fip_requests);
    if (bfd_ && !bfd_device) bfd_->configure(l2.bfd_peers);
    return changes;
  }

  // The pass proper, on the view as this host realises it (gateway roles applied).
  size_t pass_on(const Snapshot& snap, const HostView& view, const L2Settings& l2, Result<kernel::State> actual,
                 std::set<std::string>& fip_requests) {
    // What a step changed is read back before the next step plans: all of the host after a
    // link changed, only the nftables tables or only the entries when nothing else did.
    auto reread = [&](Status (kernel::Kernel::*part)(kernel::State&) = nullptr) {
      if (dry_run_) return true;
      if (!part) return (actual = kernel_->read()).has_value();
      auto done = (kernel_->*part)(*actual);
      if (!done) actual = nt::unexpected(std::move(done).error());
      return actual.has_value();
    };
    size_t changes = l3_.before_l2(view, *actual);  // namespaces and veths, for L2 to plug
    if (changes > 0 && !reread(l3_.host_links_changed() ? nullptr : &kernel::Kernel::reread_nft))
      return spdlog::error("reading the kernel: {}", actual.error().message), changes;
    // L2 plugs no port whose security groups are not in place yet.
    auto ops = plan_l2(view, *actual, l2, l3_.withheld_ports());
    for (const auto& op : ops) spdlog::info("{}{}", dry_run_ ? "would " : "", op.describe());
    bool clean = l3_.withheld_ports().empty();
    if (!dry_run_ && !ops.empty())
      if (auto r = kernel_->apply(ops); !r) spdlog::error("reconcile: {}", r.error().message), clean = false;
    if (!ops.empty() && !reread(only_entries(ops) ? &kernel::Kernel::reread_neighbours : nullptr))
      return spdlog::error("reading the kernel: {}", actual.error().message), changes;
    // The L3 host work after this (FDB entries, the bridge table) leaves plugging alone.
    changes += ops.size() + l3_.after_l2(*actual);
    if (!dry_run_) fip_requests = l3_.missing_fip_gateways();
    // Applied: every operation of the pass succeeded and nothing the view names is missing.
    // A view with an entry this agent could not decode is never reported as applied.
    bool applied = !l3_.take_failed() && clean && l3_.missing_fip_gateways().empty() && snap.decoded;
    serve(snap.view);
    std::lock_guard g(mu_);
    states_ = port_states(view, *actual);
    if (applied) applied_ = snap.revision;
    return changes;
  }

  // The gateway roles this host holds now, for the status report (logged when they change).
  void note_roles(const std::map<std::string, std::string>& roles) {
    std::lock_guard g(mu_);
    if (roles == roles_) return;
    for (const auto& [router, role] : roles)
      if (auto was = roles_.find(router); was == roles_.end() || was->second != role)
        spdlog::info("router {}: {} on this host", router, role);
    roles_ = roles;
    roles_changed_ = true;
  }
  bool take_roles_changed() {
    std::lock_guard g(mu_);
    return std::exchange(roles_changed_, false);
  }

  // DHCP and metadata follow the view once its namespaces and taps are in place.
  // A listener that could not open (its namespace not there yet) is tried again each pass.
  void serve(const std::shared_ptr<const HostView>& view) {
    if (!dhcp_) return;
    bool changed = view != served_view_;
    if (changed) {
      served_view_ = view;
      dhcp_->update(*view);
      metadata_ = metadata_plan(*view, config_.namespace_prefix);
    }
    bool missing = std::any_of(metadata_.listeners.begin(), metadata_.listeners.end(),
                               [&](const auto& spec) { return proxy_->bound_port(spec) == 0; });
    if (changed || missing) proxy_->update(metadata_.listeners, metadata_.identities);
  }

  std::string view_digest() {
    std::lock_guard g(mu_);
    return view::Digest::to_hex(view::digest_of(*view_));
  }

  // The view to change: a pass may be reading the current one (copy on write).
  HostView& writable_view() {
    if (view_.use_count() > 1) view_ = std::make_shared<HostView>(*view_);
    return *view_;
  }

  // Reports go one at a time, in the order their snapshots were taken (the watch, the
  // heartbeat and the BFD thread all report): a stale "active" never lands after "standby".
  void report() {
    std::lock_guard in_order(report_mu_);
    auto started = std::chrono::steady_clock::now();
    last_attempt_ = started;
    channel::StatusMessage report;
    {
      std::lock_guard g(mu_);
      report.ports = states_;
      // Roles as they change (all of them in the first report): a host does not repeat a
      // claim every heartbeat, so two hosts that both believe they are active (a split the
      // peer views cannot see) do not flip the server's order at every report.
      for (const auto& [router, role] : roles_)
        if (auto was = reported_roles_.find(router); was == reported_roles_.end() || was->second != role)
          report.routers[router] = role;
      roles_changed_ = false;
      if (applied_ >= 0) report.applied = applied_;
    }
    auto r = client_.post("/agent/v1/hosts/" + config_.host + "/status", channel::encode(report));
    if (!r) {
      metrics_.report_failed();
      return spdlog::warn("status report: {}", r.error().message);
    }
    last_report_ = started;  // a failed one does not count: the heartbeat tries again soon
    std::lock_guard g(mu_);
    for (const auto& [router, role] : report.routers) reported_roles_[router] = role;
    std::erase_if(reported_roles_, [&](const auto& kv) { return !roles_.count(kv.first); });  // told again if it comes back
  }

  // One watch connection: snapshot (or resume), then deltas until it breaks.
  Status watch(bool once) {
    // From the revision before the last entry's unless a `synced` closed it: a stream cut
    // in the middle of a revision has that revision sent again whole (entries are states,
    // so one received twice changes nothing).
    int64_t since = rev_whole_ ? rev_ : rev_ - 1;
    std::string target = "/agent/v1/hosts/" + config_.host + "/watch" + (since >= 0 ? "?since=" + std::to_string(since) : "");
    // The view's digest says what it holds: a server that cannot resume from its history
    // (it restarted) sends no snapshot when its view of the host is the same.
    if (since >= 0 && have_view_) target += "&digest=" + view_digest();
    bool synced = false;  // this connection's snapshot or resume is complete
    HostView incoming;    // a full snapshot is collected apart and swapped in whole
    int64_t incoming_rev = rev_;
    bool resuming = since >= 0;
    return client_.watch(target, [&](const std::string& line) {
      if (auto probe = read_probe(line)) return answer(*probe), true;
      std::string op;
      {
        std::lock_guard g(mu_);
        LineResult got;
        if (synced || resuming) {
          got = apply_line(writable_view(), line, rev_);
          if (got.op == "hello" && got.full) resuming = false;  // not covered: a whole view comes
        } else {
          // The snapshot's revision counts only once it is whole (a cut before `synced`
          // must not leave a revision this view does not have).
          got = apply_line(incoming, line, incoming_rev);
          if (got.op == "synced")
            view_ = std::make_shared<HostView>(std::move(incoming)), undecodable_ = 0, rev_ = incoming_rev;
        }
        if (!got.decoded) ++undecodable_;
        if (got.op == "put" || got.op == "del") rev_whole_ = false;
        if (closes_revision(got, rev_)) rev_whole_ = true;
        op = got.op;
        if (op == "synced") synced = true, have_view_ = true;
      }
      if (!synced) return true;
      if (op == "synced") {
        auto started = std::chrono::steady_clock::now();
        size_t n = reconcile();
        auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
        if (first_) spdlog::info("first reconcile: {} changes in {:.1f} ms", n, ms), first_ = false;
        report();
        return !once;
      }
      // Changes are applied in bursts: once every line received so far is in the view.
      if (op == "put" || op == "del") dirty_ = true;
      return true;
    }, [&] {
      if (!synced || !dirty_) return;
      dirty_ = false;
      reconcile();
      report();
    });
  }

  // `neutrino trace --live`: what the kernel has of the entries the server asks about
  // (between passes: the kernels' sockets are the passes' own).
  void answer(const view::Probe& probe) {
    std::vector<std::string> results;
    {
      std::lock_guard one_pass(pass_mu_);
      results = answer_probe(*host_, config_.namespace_prefix, probe.checks);
    }
    auto body = boost::json::serialize(boost::json::value_from(view::ProbeAnswer{probe.id, std::move(results)}));
    if (auto r = client_.post("/agent/v1/hosts/" + config_.host + "/probe", body); !r)
      spdlog::warn("probe {}: the answer was not taken: {}", probe.id, r.error().message);
  }

  // Shutdown (from the signal thread): the watch ends, registration stops retrying. What
  // was built stays: the data plane keeps forwarding without its agent, as Neutron's.
  void stop() {
    stopping_ = true;
    client_.cancel();
  }
  bool stopping() const { return stopping_; }
  AgentMetrics& metrics() { return metrics_; }
  // After a failed watch: another server in the list is tried at once, else a backoff.
  bool retry_now() { return client_.take_retry_now(); }
  std::string server() const { return client_.current_server(); }

  // A pass asked to be followed by another one soon (repeated gratuitous ARPs).
  bool repeat_pending() {
    std::lock_guard one_pass(pass_mu_);
    return l3_.wants_repeat();
  }

  // A heartbeat when no report went through for `quiet` (passes report as they end), and
  // none was tried for `retry` (a server that is down is not asked every loop).
  void report_if_quiet(std::chrono::steady_clock::duration quiet, std::chrono::steady_clock::duration retry) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_report_.load() >= quiet && now - last_attempt_.load() >= retry) report();
  }

  size_t reconcile_and_report() {
    size_t n = reconcile();
    report();
    return n;
  }

 private:
  const AgentConfig& config_;
  std::unique_ptr<kernel::Host> host_;
  kernel::Kernel* kernel_;  // the host's own namespace
  ChannelClient client_;
  bool dry_run_;
  L3Runner l3_;
  AgentMetrics metrics_;
  std::unique_ptr<DhcpServer> dhcp_;
  std::unique_ptr<metadata::ProxyService> proxy_;
  std::shared_ptr<const HostView> served_view_;  // what DHCP and metadata serve now
  MetadataPlan metadata_;
  std::atomic<bool> stopping_{false};
  std::mutex pass_mu_;  // one pass at a time; the L3 runner's state
  std::mutex mu_;       // the view, revisions and port states (never held across I/O)
  std::mutex report_mu_;  // one status report at a time
  // The last report that went through, the last one tried (from the start: the first
  // heartbeat waits its turn; registration counted as one).
  std::atomic<std::chrono::steady_clock::time_point> last_report_{std::chrono::steady_clock::now()};
  std::atomic<std::chrono::steady_clock::time_point> last_attempt_{std::chrono::steady_clock::now()};
  std::shared_ptr<HostView> view_ = std::make_shared<HostView>();
  std::map<std::string, std::string> states_;  // port -> up | down
  int64_t rev_ = -1;
  bool rev_whole_ = true;  // rev_ came from a `synced`: every entry of it is here
  int64_t applied_ = -1;  // the view revision the last clean pass applied
  size_t undecodable_ = 0;  // lines of the current view that did not decode
  bool first_ = true, dirty_ = false, have_view_ = false;
  std::map<std::string, std::string> roles_;  // router -> active | standby (gateway roles here)
  std::map<std::string, std::string> reported_roles_;  // as the server last accepted them
  bool roles_changed_ = false;
  bool bfd_known_ = false;  // the daemon's sessions were read once (passes only)
  std::unique_ptr<BfdClient> bfd_;  // last: its thread calls into the members above
};

}  // namespace

namespace {

void load_ha_options(const Config& c, AgentConfig& a) {
  auto& b = a.bfd;
  b.enabled = c.boolean("ha", "enabled");
  b.min_tx_ms = static_cast<int>(c.integer("ha", "bfd_min_tx_ms"));
  b.min_rx_ms = static_cast<int>(c.integer("ha", "bfd_min_rx_ms"));
  b.detect_mult = static_cast<int>(c.integer("ha", "bfd_detect_mult"));
  b.binary = c.str("ha", "bfd_binary");
  if (b.binary.empty()) {
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    b.binary = (ec ? std::filesystem::path("/usr/bin") : self.parent_path()) / "neutrino-bfd";
  }
  b.device = std::string(devname::kBfdDevice);
  b.local_ip = a.l2.local_ip;
  if (b.enabled) a.l2.bfd_vni = static_cast<uint32_t>(c.integer("ha", "management_vni"));
}

}  // namespace

const std::vector<OptionSpec>& agent_options() { return agent_schema(); }

Result<AgentConfig> load_agent_config(const std::string& path) {
  NT_ASSIGN(auto c, Config::load(path, agent_schema()));
  AgentConfig a;
  a.host = c.str("DEFAULT", "host");
  a.agent_mode = c.str("DEFAULT", "agent_mode");
  a.server_url = c.str("DEFAULT", "server_url");
  a.token = c.str("DEFAULT", "token");
  a.namespace_prefix = c.str("DEFAULT", "namespace_prefix");
  a.state_path = c.str("DEFAULT", "state_path");
  a.report_interval = static_cast<int>(std::max<int64_t>(1, c.integer("DEFAULT", "report_interval")));
  a.l2.local_ip = c.str("DEFAULT", "local_ip");
  load_ha_options(c, a);
  auto& m = a.metadata;
  m.host = c.str("DEFAULT", "nova_metadata_host");
  m.port = static_cast<int>(c.integer("DEFAULT", "nova_metadata_port"));
  m.protocol = c.str("DEFAULT", "nova_metadata_protocol");
  m.insecure = c.boolean("DEFAULT", "nova_metadata_insecure");
  m.client_cert = c.str("DEFAULT", "nova_client_cert");
  m.client_key = c.str("DEFAULT", "nova_client_priv_key");
  m.ca_cert = c.str("DEFAULT", "auth_ca_cert");
  m.shared_secret = c.str("DEFAULT", "metadata_proxy_shared_secret");
  auto where = [&](const char* o) { auto w = c.where("DEFAULT", o); return w.empty() ? c.where_missing("DEFAULT") : w; };
  if (a.host.empty())
    return fail(Errc::invalid_argument, Origin::config,
                where("host") + ": option \"host\" in [DEFAULT] is required (this host's name, as Nova's binding:host_id)");
  if (a.l2.local_ip.empty())
    return fail(Errc::invalid_argument, Origin::config,
                where("local_ip") + ": option \"local_ip\" in [DEFAULT] is required (this host's VTEP address)");
  if (!IpAddress::parse(a.l2.local_ip))
    return fail(Errc::invalid_argument, Origin::config, where("local_ip") + ": option \"local_ip\" in [DEFAULT]: \"" +
                                                           a.l2.local_ip + "\" is not an IP address");
  if (a.agent_mode != "dvr" && a.agent_mode != "dvr_snat")
    return fail(Errc::invalid_argument, Origin::config, where("agent_mode") + ": option \"agent_mode\" in [DEFAULT]: \"" +
                                                           a.agent_mode + "\" is not dvr or dvr_snat");
  if (m.protocol != "http" && m.protocol != "https")
    return fail(Errc::invalid_argument, Origin::config, where("nova_metadata_protocol") +
                                                           ": option \"nova_metadata_protocol\" in [DEFAULT]: \"" + m.protocol +
                                                           "\" is not http or https");
  if (m.client_cert.empty() != m.client_key.empty())
    return fail(Errc::invalid_argument, Origin::config,
                where(m.client_cert.empty() ? "nova_client_priv_key" : "nova_client_cert") +
                    ": options \"nova_client_cert\" and \"nova_client_priv_key\" in [DEFAULT] go together");
  if (auto u = parse_server_urls(a.server_url); !u)
    return fail(Errc::invalid_argument, Origin::config, where("server_url") + ": " + u.error().message);
  auto mappings = parse_bridge_mappings(c.list("DEFAULT", "bridge_mappings"));
  if (!mappings)
    return fail(Errc::invalid_argument, Origin::config,
                where("bridge_mappings") + ": option \"bridge_mappings\" in [DEFAULT]: " + mappings.error().message);
  a.l2.bridge_mappings = std::move(*mappings);
  a.bfd.control_socket = a.state_path + "/" + a.host + ".bfd.sock";
  if (a.bfd.enabled && a.bfd.control_socket.size() >= 100)
    return fail(Errc::invalid_argument, Origin::config,
                where("state_path") + ": option \"state_path\" in [DEFAULT]: \"" + a.state_path +
                    "\" is too long for the BFD daemon's Unix socket (" + a.bfd.control_socket + ")");
  a.metrics_bind = c.str("DEFAULT", "metrics_bind");
  if (auto bind = parse_metrics_bind(a.metrics_bind); !bind)
    return fail(Errc::invalid_argument, Origin::config,
                where("metrics_bind") + ": option \"metrics_bind\" in [DEFAULT]: " + bind.error().message);
  if (a.bfd.enabled && devname::bfd_mac(a.l2.local_ip).empty()) {
    spdlog::warn("{}: gateway HA's BFD needs an IPv4 local_ip; [ha] enabled is ignored", where("local_ip"));
    a.bfd.enabled = false, a.l2.bfd_vni = 0;
  }
  return a;
}

std::string host_token_file(const AgentConfig& c) { return c.state_path + "/" + c.host + ".token"; }

std::string read_host_token(const std::string& file) {
  std::ifstream in(file);
  std::string token;
  if (!in || !std::getline(in, token)) return "";
  // What the server issues: 64 lowercase hex characters. Anything else is not sent.
  bool hex = token.size() == 64 && std::all_of(token.begin(), token.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (!hex) {
    spdlog::error("{} does not hold a host token (64 hex characters); registering without one", file);
    return "";
  }
  return token;
}

Status write_host_token(const std::string& file, const std::string& token) {
  auto dir = file.substr(0, file.rfind('/'));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto tmp = file + ".new";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Errc::unavailable, Origin::config, tmp + ": " + std::strerror(errno));
  auto line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    auto why = std::string(std::strerror(errno));
    ::unlink(tmp.c_str());
    return fail(Errc::unavailable, Origin::config, file + ": " + why);
  }
  return {};
}

Result<std::map<std::string, std::string>> parse_bridge_mappings(const std::vector<std::string>& entries) {
  std::map<std::string, std::string> out;
  for (const auto& m : entries) {
    auto colon = m.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == m.size())
      return fail(Errc::invalid_argument, Origin::config, "\"" + m + "\" is not physnet:interface");
    // As Neutron's parse_mappings: a physical network and an interface appear once each.
    auto physnet = m.substr(0, colon), interface = m.substr(colon + 1);
    if (out.count(physnet))
      return fail(Errc::invalid_argument, Origin::config, "physical network \"" + physnet + "\" is mapped twice");
    for (const auto& [other, used] : out)
      if (used == interface)
        return fail(Errc::invalid_argument, Origin::config,
                    "interface \"" + interface + "\" is mapped twice (" + other + " and " + physnet + ")");
    out[physnet] = interface;
  }
  return out;
}

Result<HostView> read_view_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(Errc::invalid_argument, Origin::channel, path + ": cannot open");
  HostView view;
  int64_t rev = 0;
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    auto got = apply_line(view, line, rev);
    if (!got.decoded) return fail(Errc::invalid_argument, "", path + ":" + std::to_string(n) + ": not a host view line");
    if (got.op == "synced") break;
  }
  return view;
}

Result<size_t> reconcile_once(const HostView& view, const L2Settings& settings, bool dry_run, std::ostream& out) {
  NT_ASSIGN(auto kernel, kernel::open_netlink_kernel());
  NT_ASSIGN(auto actual, kernel->read());
  auto ops = plan_l2(view, actual, settings);
  for (const auto& op : ops) out << op.describe() << "\n";
  out << ops.size() << " change(s)" << (dry_run ? " (dry run)" : "") << std::endl;
  if (!dry_run) NT_TRY(kernel->apply(ops));
  return ops.size();
}

// What this host's kernel lets the agent build; the server binds only ports it can serve.
std::map<std::string, std::string> unsupported_network_types() {
  auto missing = kernel::missing_link_kinds({"vxlan", "vlan", "geneve"});
  // A kernel geneve device is point-to-point: the bridge data plane's flooding and
  // l2pop entries need VXLAN's multipoint FDB.
  if (!missing.count("geneve")) missing["geneve"] = "the linux-bridge data plane builds tunnels with VXLAN only";
  for (const auto& [type, why] : missing) spdlog::warn("{} networks cannot be served on this host: {}", type, why);
  return missing;
}

bool host_has_ipv6() {
  auto off = kernel::read_sysctl("net/ipv6/conf/default/disable_ipv6");
  bool on = off && *off == "0";
  if (!on) spdlog::warn("IPv6 is off on this host: no IPv6 neighbour entries for remote ports (their ND is not answered locally)");
  return on;
}

namespace {

// SIGTERM and SIGINT are taken by one thread (blocked everywhere else), which stops the
// agent; `done` ends that thread when the agent stopped on its own.
class SignalStop {
 public:
  SignalStop() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGUSR1);  // internal: wakes the thread at the end
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);  // before any other thread starts
  }
  void start(std::function<void(int)> on_signal) {
    thread_ = std::thread([this, on_signal = std::move(on_signal)] {
      int sig = 0;
      sigwait(&set_, &sig);
      if (sig != SIGUSR1) on_signal(sig);
    });
  }
  ~SignalStop() {
    if (!thread_.joinable()) return;
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }

 private:
  sigset_t set_;
  std::thread thread_;
};

}  // namespace

int run_agent(const AgentConfig& given, bool once, bool dry_run) {
  AgentConfig config = given;
  config.l2.unsupported_types = unsupported_network_types();
  config.l2.ipv6 = host_has_ipv6();
  SignalStop signals;
  auto kernel = kernel::open_netlink_kernel();
  if (!kernel) return spdlog::error("{}", kernel.error().message), 1;
  Agent agent(config, std::move(*kernel), dry_run);
  std::unique_ptr<MetricsListener> metrics_listener;  // stops before the agent goes
  if (auto bind = parse_metrics_bind(config.metrics_bind); bind && *bind) {
    auto listener = MetricsListener::start(**bind, agent.metrics());
    if (!listener) return spdlog::error("{}", listener.error().message), 1;
    metrics_listener = std::move(*listener);
  }
  std::atomic<bool> running{true};
  signals.start([&](int sig) {
    spdlog::info("signal {}: stopping (what is built stays in place)", sig);
    running = false;
    agent.stop();
  });
  agent.register_host();
  if (agent.stopping()) return spdlog::info("stopped"), 0;
  if (once) {
    auto r = agent.watch(true);
    if (!r) return spdlog::error("{}", r.error().message), agent.stopping() ? 0 : 1;
    return 0;
  }
  // The VIF watcher: link events (a tap plugged or removed) trigger a pass at once; a
  // pass and its report also run every report_interval (the wait ends within a second
  // on shutdown).
  auto links = kernel::LinkWatcher::open();
  if (!links) spdlog::warn("no link events ({}); taps are picked up every {} s", links.error().message, config.report_interval);
  std::thread passes([&] {
    auto period = std::chrono::seconds(config.report_interval);
    auto next_report = std::chrono::steady_clock::now() + period;
    bool soon = false;
    while (running) {
      int wait_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         next_report - std::chrono::steady_clock::now()).count());
      wait_ms = std::clamp(soon ? std::min(wait_ms, 300) : wait_ms, 0, 1000);
      bool event = links ? (*links)->wait(wait_ms)
                         : (std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms)), false);
      if (!running) break;
      if (event || soon) {
        if (agent.reconcile() > 0) agent.report();
        soon = agent.repeat_pending();
        continue;
      }
      if (std::chrono::steady_clock::now() < next_report) continue;
      agent.reconcile_and_report();
      soon = agent.repeat_pending();
      next_report = std::chrono::steady_clock::now() + period;
    }
  });
  // Heartbeats do not wait for passes: a long one (a slow kernel, a new gateway host's
  // first) must not make the server call this host dead and move its routers away. The
  // passes report every period; this one speaks only when they have been quiet longer.
  std::thread heartbeat([&] {
    auto quiet = std::chrono::milliseconds(config.report_interval * 1500);
    auto retry = std::chrono::milliseconds(config.report_interval * 500);
    while (running) {
      agent.report_if_quiet(quiet, retry);
      for (int i = 0; i < 5 && running; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  while (running) {
    auto r = agent.watch(false);
    if (!running) break;
    agent.metrics().watch_ended();
    // The next server of a list is tried at once; the backoff comes once per full cycle.
    if (agent.retry_now()) {
      spdlog::warn("watch ended: {}; resuming on {} now", r ? "closed" : r.error().message, agent.server());
      continue;
    }
    spdlog::warn("watch ended: {}; reconnecting in 1 s", r ? "closed" : r.error().message);
    for (int i = 0; i < 10 && running; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  passes.join();
  heartbeat.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace nt::agent
