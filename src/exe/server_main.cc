// neutrino-server: the Neutron v2.0 API on an embedded SQLite store or a PostgreSQL database
// shared by several servers.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <thread>
#include <filesystem>
#include <iostream>

#include "api/errors.h"
#include "api/api.h"
#include "core/settings.h"
#include "core/startup.h"
#include "http/server.h"
#include "metadata/backend.h"
#include "policy/policy_file.h"
#include "common/huge_pages.h"
#include "common/main_guard.h"

namespace {

nt::Result<std::unique_ptr<nt::Store>> open_store(const nt::Settings& s) {
  return s.database_url.empty() ? nt::open_sqlite_store(s.database) : nt::open_postgres_store(s.database_url);
}

// --check-config with a PostgreSQL database also connects and reads the schema version.
int check_database(const nt::Settings& s, const std::string& config_file) {
  if (s.database_url.empty()) {
    std::cout << "configuration OK\n";
    return 0;
  }
  auto checked = nt::check_postgres_store(s.database_url);
  if (!checked) {
    std::cerr << "neutrino-server: " << (config_file.empty() ? "--database" : config_file + ": [database] connection")
              << ": " << checked.error().message << "\n";
    return 2;
  }
  std::cout << "configuration OK; " << *checked << "\n";
  return 0;
}

int migrate(const std::string& from, nt::Store& target) {
  auto source_target = nt::parse_database_target(from, false);
  if (!source_target || source_target->sqlite_path.empty()) {
    std::cerr << "neutrino-server: --migrate-from takes sqlite:///PATH, not \"" << nt::without_password(from) << "\"\n";
    return 2;
  }
  if (!std::filesystem::exists(source_target->sqlite_path)) {
    std::cerr << "neutrino-server: --migrate-from: " << source_target->sqlite_path << " does not exist\n";
    return 2;
  }
  auto source = nt::open_sqlite_store(source_target->sqlite_path);
  if (!source) {
    std::cerr << "neutrino-server: --migrate-from: " << source.error().message << "\n";
    return 1;
  }
  auto copied = nt::migrate_store(**source, target);
  if (!copied) {
    std::cerr << "neutrino-server: --migrate-from: " << copied.error().message << "\n";
    return 1;
  }
  std::cout << "copied " << *copied << " rows from " << (*source)->describe() << " into " << target.describe() << "\n";
  return 0;
}

// Publishes this server's heartbeats and takes the others' (a store shared by servers).
void share_beats(nt::Store& store, nt::Liveness& liveness) {
  if (auto published = store.publish_beats(liveness.beats()); !published)
    spdlog::warn("heartbeats not shared: {}", published.error().message);
  if (auto all = store.beats()) liveness.merge(*all);
}

int run(int argc, char** argv) {
  CLI::App app{"neutrino-server: Neutron-compatible network API server"};
  std::string config_file;
  std::string database;
  int port = -1;
  bool check_only = false;
  app.add_option("--config-file", config_file, "server.ini (Neutron option names)");
  app.add_option("--database", database,
                 "SQLite file or postgresql://user:password@host:port/dbname; overrides [database] connection");
  std::string migrate_from;
  app.add_option("--migrate-from", migrate_from,
                 "copy the SQLite database sqlite:///PATH into the (empty) configured database, then exit");
  app.add_option("--port", port, "listen port; overrides bind_port (0 = any free port)")->check(CLI::Range(0, 65535));
  std::string unix_socket;
  app.add_option("--unix-socket", unix_socket, "also serve on this Unix socket (agents use unix://PATH)");
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
  nt::StartupOptions startup;
  app.add_flag("--skip-bad-rows", startup.skip_bad_rows,
               "set rows that cannot be loaded aside (table quarantine) and start without them");
  app.add_flag("--rebuild-allocations", startup.rebuild_allocations,
               "rebuild the IP/MAC/segment allocation tables from the resources, then start");
  CLI11_PARSE(app, argc, argv);

  auto config = config_file.empty() ? nt::Config::defaults(nt::server_schema())
                                    : nt::Config::load(config_file, nt::server_schema());
  if (!config) {
    std::cerr << "neutrino-server: " << config.error().message << "\n";
    return 2;
  }
  for (const auto& w : config->warnings()) spdlog::warn("{}", w);
  auto settings = nt::settings_from(*config);
  if (!settings) {
    std::cerr << "neutrino-server: " << settings.error().message << "\n";
    return 2;
  }
  std::unique_ptr<nt::auth::KeystoneClient> keystone;
  if (settings->auth_strategy == "keystone") {
    auto client = nt::auth::KeystoneClient::create(settings->keystone);
    if (!client) {
      std::cerr << "neutrino-server: " << config_file << ": [keystone_authtoken] " << client.error().message << "\n";
      return 2;
    }
    keystone = std::move(*client);
  }
  // The policy file: relative to the configuration file's directory, as oslo.config finds it.
  std::string policy_path = settings->policy_file;
  if (!policy_path.empty() && policy_path[0] != '/' && !config_file.empty())
    policy_path = (std::filesystem::path(config_file).parent_path() / policy_path).string();
  nt::policy::PolicyFile::Options policy_options;
  policy_options.policy = {settings->enforce_new_defaults, settings->enforce_scope};
  policy_options.on_error = [](const nt::Error& e) {
    spdlog::error("policy file not taken, the last good policy stays in force: {}", e.message);
  };
  auto policy_file = nt::policy::PolicyFile::open(policy_path, policy_options);
  if (!policy_file) {
    std::cerr << "neutrino-server: " << policy_file.error().message << "\n";
    return 2;
  }
  for (const auto& w : (*policy_file)->current()->warnings()) spdlog::warn("policy: {}", w);
  if (!database.empty()) {
    auto target = nt::parse_database_target(database, true);
    if (!target) {
      std::cerr << "neutrino-server: --database: " << target.error().message << "\n";
      return 2;
    }
    settings->database = target->sqlite_path;
    settings->database_url = target->url;
  }
  if (check_only) return check_database(*settings, config_file);
  if (config->boolean("DEFAULT", "debug")) spdlog::set_level(spdlog::level::debug);
  if (port >= 0) settings->bind_port = port;

  auto store = open_store(*settings);
  if (!store) {
    std::cerr << "neutrino-server: " << store.error().message << "\n";
    return 1;
  }
  if (!migrate_from.empty()) return migrate(migrate_from, **store);
  nt::Model model;
  startup.database = (*store)->describe();
  if (auto loaded = nt::load_model(**store, model, startup); !loaded) {
    std::cerr << "neutrino-server: cannot load the database " << settings->database << ": " << loaded.error().message
              << (startup.skip_bad_rows ? "" : " (--skip-bad-rows sets unreadable rows aside and starts without them)")
              << "\n";
    if (!loaded.error().detail.empty()) spdlog::error("{}", loaded.error().detail);
    return 1;
  }
  nt::Writer writer(model, **store);
  nt::Api api(*settings, model, writer);
  // A shared database: other servers' commits are replayed as they are announced.
  auto follower = (*store)->follow([&writer](int64_t revision) { writer.catch_up_soon(revision); });
  if (follower) writer.catch_up_soon();
  api.use_policy_file(std::move(*policy_file));
  if (keystone) api.use_keystone(std::make_unique<nt::auth::Authenticator>(settings->keystone, std::move(keystone)));
  if (unix_socket.empty()) unix_socket = settings->unix_socket;
  nt::HttpServerOptions http_options;
  http_options.host = settings->bind_host;
  http_options.port = settings->bind_port;
  http_options.threads = settings->api_workers;
  http_options.max_body = settings->max_request_body_size;
  http_options.unix_socket = unix_socket;
  http_options.max_connections = settings->max_connections;
  http_options.render_error = nt::error_response;
  nt::HttpServer server(http_options,
                        [&api](nt::HttpRequest&& req, nt::Reply reply) { api.handle(std::move(req), std::move(reply)); });
  if (auto started = server.start(); !started) {
    std::cerr << "neutrino-server: " << started.error().message << "\n";
    return 1;
  }
  // [metadata] listen: the built-in metadata backend on a listener of its own.
  std::unique_ptr<nt::metadata::Backend> metadata;
  std::unique_ptr<nt::HttpServer> metadata_server;
  if (settings->metadata_port >= 0) {
    if (settings->metadata_secret.empty())
      spdlog::warn("[metadata] metadata_proxy_shared_secret is empty: signatures are checked with an empty key");
    metadata = std::make_unique<nt::metadata::Backend>(
        nt::metadata::BackendOptions{settings->metadata_secret, settings->instance_data_dir}, model,
        [&writer] { return writer.read_durable(); });
    nt::HttpServerOptions md_options;
    md_options.host = settings->metadata_host;
    md_options.port = settings->metadata_port;
    md_options.unix_socket = settings->metadata_unix_socket;
    md_options.threads = 1;
    md_options.max_body = 65536;
    md_options.max_connections = 1024;
    md_options.render_error = nt::metadata::Backend::render_error;
    metadata_server = std::make_unique<nt::HttpServer>(
        md_options, [&metadata](nt::HttpRequest&& req, nt::Reply reply) { reply(metadata->answer(req)); });
    if (auto started = metadata_server->start(); !started) {
      std::cerr << "neutrino-server: [metadata] " << started.error().message << "\n";
      return 1;
    }
    spdlog::info("metadata backend on {}:{}", settings->metadata_host, metadata_server->port());
    std::cout << "metadata backend on " << settings->metadata_host << ":" << metadata_server->port() << std::endl;
  }
  std::thread metadata_thread;
  if (metadata_server) metadata_thread = std::thread([&] { metadata_server->run(); });
  // Agent liveness: transitions are stored and gateways rescheduled a few times per
  // agent_down_time.
  std::atomic<bool> running{true};
  std::mutex stop_mu;
  std::condition_variable stop_cv;  // wakes the periodic threads at the stop
  auto pause = [&](std::chrono::milliseconds period) {
    std::unique_lock g(stop_mu);
    return !stop_cv.wait_for(g, period, [&] { return !running; });
  };
  std::thread sweeper([&] {
    auto period = std::chrono::milliseconds(std::clamp(settings->agent_down_time * 250, 100, 1000));
    while (pause(period)) api.sweep(!follower || follower->leader());  // one server decides liveness and gateways
  });
  // Heartbeats are shared on a thread of their own: a database that hangs must not hold
  // up the watch streams' keepalives.
  std::thread beat_sharer;
  if (follower)
    beat_sharer = std::thread([&] {
      auto period = std::chrono::milliseconds(std::clamp(settings->agent_down_time * 250, 100, 1000));
      while (pause(period)) share_beats(**store, api.liveness());
    });
  spdlog::info("neutrino-server listening on {}:{}{} (database {}, revision {})", settings->bind_host, server.port(),
               unix_socket.empty() ? "" : " and unix://" + unix_socket, (*store)->describe(), model.revision);
  std::cout << "listening on " << settings->bind_host << ":" << server.port() << std::endl;
  // SIGTERM: no new connections; the writes in flight commit and every watch stream
  // writes them before the connections close, so agents resume without a snapshot.
  server.on_signal_drain([&] {
    writer.stop();
    if (auto behind = api.drain_watches(std::chrono::seconds(2)); !behind.empty())
      spdlog::warn("stopping with {} watch streams not drained (slow agents), the first of them: {}", behind.size(),
                   behind.front());
  });
  server.run();
  if (metadata_server) {
    metadata_server->stop();
    metadata_thread.join();
  }
  api.stop_authentication();
  api.stop_live_probes();
  {
    std::lock_guard g(stop_mu);
    running = false;
  }
  stop_cv.notify_all();
  sweeper.join();
  if (beat_sharer.joinable()) beat_sharer.join();
  follower.reset();
  writer.stop();
  spdlog::info("neutrino-server stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  nt::run_with_huge_page_heap(argv);  // the planner's boot: fewer page faults (common/huge_pages.h)
  return nt::guarded_main("neutrino-server", [&] { return run(argc, argv); });
}
