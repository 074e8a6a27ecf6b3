// quiver: the single binary. `quiver serve` runs the standalone server;
// `quiver inspect` dumps on-disk files; `quiver cluster` runs a cluster locally.

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <thread>

#include "cli/cluster_roles.h"
#include "cli/cluster_command.h"
#include "cli/inspect.h"
#include "cli/version.h"
#include "common/log.h"
#include "engine/engine.h"
#include "io/file_system.h"
#include "server/http_server.h"

namespace {

int Serve(const quiver::EngineOptions& engine_options,
          const quiver::ServerOptions& server_options) {
  const std::string& data_dir = engine_options.data_dir;
  // Block termination signals in every thread; one thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Bind first, so /health answers (and /ready says 503) during recovery.
  quiver::HttpServer server(nullptr, server_options);
  if (quiver::Status valid = server.Valid(); !valid.ok()) {
    quiver::log::Get("server").critical("{}", valid.ToString());
    return 2;
  }
  auto port = server.Bind();
  if (!port.ok()) {
    quiver::log::Get("server").critical("{}", port.status().ToString());
    return 1;
  }
  const std::string url = fmt::format(
      "{}://{}:{}", server_options.tls_cert.empty() ? "http" : "https", server_options.host, *port);
  quiver::log::Get("server").info("bound to {}; recovering {}", url, data_dir);
  std::thread serving([&server] { server.Serve(); });
  std::thread waiter([&server, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    quiver::log::Get("server").info("received signal {}; shutting down", sig);
    server.Stop();
  });
  auto stop_waiter = [&] {
    // NOLINTNEXTLINE(bugprone-bad-signal-to-kill-thread): wakes its sigwait, blocked everywhere
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  };
  auto engine = quiver::Engine::Open(quiver::NewPosixFileSystem(), engine_options);
  if (!engine.ok()) {
    quiver::log::Get("server").critical("cannot open data directory {}: {}", data_dir,
                                        engine.status().ToString());
    server.Stop();
    serving.join();
    stop_waiter();
    return 1;
  }
  server.SetEngine(engine->get());
  quiver::log::Get("server").info("quiver listening on {} with data in {}", url, data_dir);
  serving.join();  // until Stop (a signal) or a listen failure
  stop_waiter();
  engine->reset();
  quiver::log::Get("server").info("quiver stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Quiver: a vector database with Epsilla-compatible REST API"};
  app.require_subcommand(1);
  app.set_version_flag(
      "--version", [] { return quiver::VersionText(); },
      "Print the version, git commit and distance kernels, and exit");

  quiver::EngineOptions engine_options;
  engine_options.data_dir = "./data";
  quiver::TableOptions& table = engine_options.table;
  size_t seal_mb = table.seal_bytes >> 20;
  int64_t seal_seconds = table.seal_age.count();
  quiver::ServerOptions server_options;
  size_t max_body_mb = 64;
  std::string log_level = "info";
  auto* serve = app.add_subcommand("serve", "Run the standalone server");
  // A TOML file of serve's flags (serve.port=8888, or a [serve] table); flags
  // on the command line override it. `quiver serve --config F` works too.
  app.set_config("--config", "", "TOML config file (flags override it; see serve --print-config)");
  app.allow_config_extras(CLI::config_extras_mode::error);
  bool print_config = false;
  serve->add_flag("--print-config", print_config,
                  "Print the effective configuration as TOML (usable with --config) and exit");
  serve->add_option("--data", engine_options.data_dir, "Data directory (created when missing)")
      ->capture_default_str();
  serve->add_option("--host", server_options.host, "Address to listen on")->capture_default_str();
  serve->add_option("--port", server_options.port, "Port to listen on (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  serve
      ->add_option("--max-body-mb", max_body_mb,
                   "Largest request body accepted, in MiB (413 above)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  serve
      ->add_option("--keep-alive-seconds", server_options.keep_alive_seconds,
                   "Close idle keep-alive connections after this long")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  serve
      ->add_option("--max-connections", server_options.max_connections,
                   "Open connections served at once (a worker thread each; more wait)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{65536}));
  serve->add_option("--threads", server_options.threads, "HTTP worker threads kept running")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  std::string log_format = "text";
  serve->add_option("--log-format", log_format, "Log lines as text or json (one object per line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  serve->add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  serve
      ->add_option("--seal-rows", table.seal_rows,
                   "Seal a table's growing segment at this many rows")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 31));
  serve->add_option("--seal-mb", seal_mb, "... or at this many MiB of row data")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  serve->add_option("--seal-seconds", seal_seconds, "... or when its oldest row is this old")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 30));
  serve
      ->add_option("--max-segments", table.max_segments,
                   "Compact when a table has more sealed segments than this")
      ->capture_default_str()
      ->check(CLI::Range(2, 1 << 20));
  std::string api_keys_path;
  bool allow_open_remote = false;
  serve->add_option("--api-keys", api_keys_path,
                    "JSON file of API keys (docs/API.md, \"Authentication\"); without it there "
                    "is no authentication and the server listens on loopback only");
  serve->add_flag("--allow-remote-without-keys", allow_open_remote,
                  "Listen on a non-loopback address with no API keys (unauthenticated!)");
  serve
      ->add_option("--rate-limit", server_options.rate_limit,
                   "Requests per second per API key (per client address without keys); 0: off")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9));
  serve->add_option("--tls-cert", server_options.tls_cert, "PEM certificate (chain): serve HTTPS");
  serve->add_option("--tls-key", server_options.tls_key, "PEM private key of --tls-cert");
  engine_options.index_threads = std::max(1u, std::thread::hardware_concurrency() / 2);
  serve
      ->add_option("--index-threads", engine_options.index_threads,
                   "Threads building indexes in the background, at lower priority")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));

  quiver::ClusterRoles cluster_roles;
  cluster_roles.Add(app);
  std::string inspect_path;
  auto* inspect = app.add_subcommand("inspect", "Dump an on-disk file readably");
  inspect->require_subcommand(1);
  auto* inspect_wal = inspect->add_subcommand("wal", "Dump a WAL file's records");
  inspect_wal->add_option("path", inspect_path, "WAL file")->required();
  auto* inspect_catalog = inspect->add_subcommand("catalog", "Dump the catalog");
  inspect_catalog->add_option("path", inspect_path, "Catalog file (DATA/meta/catalog)")->required();
  auto* inspect_segment = inspect->add_subcommand("segment", "Dump a sealed segment and verify it");
  inspect_segment->add_option("path", inspect_path, "Segment file (.seg)")->required();
  auto* inspect_manifest = inspect->add_subcommand("manifest", "Dump a table's manifest");
  inspect_manifest->add_option("path", inspect_path, "Manifest file (table dir/MANIFEST)")
      ->required();
  auto* inspect_index = inspect->add_subcommand("index", "Dump an index file and verify it");
  inspect_index->add_option("path", inspect_path, "Index file (table dir/indexes/*.qvi)")
      ->required();

  quiver::ClusterCommand cluster;
  quiver::AddClusterCommand(app, cluster);

  // CLI11 reads config files at the top level only: `serve --config F` is
  // moved in front of `serve`.
  std::vector<std::string> args(argv, argv + argc);
  const auto sub = std::find(args.begin(), args.end(), "serve");
  for (auto it = sub; it != args.end(); ++it) {
    if (*it == "--config" && it + 1 != args.end()) {
      std::vector<std::string> moved(it, it + 2);
      args.erase(it, it + 2);
      args.insert(args.begin() + 1, moved.begin(), moved.end());
      break;
    }
    if (it->rfind("--config=", 0) == 0) {
      std::string moved = *it;
      args.erase(it);
      args.insert(args.begin() + 1, moved);
      break;
    }
  }
  std::vector<char*> reordered;
  reordered.reserve(args.size());
  for (auto& a : args) reordered.push_back(a.data());
  CLI11_PARSE(app, static_cast<int>(reordered.size()), reordered.data());

  if (*serve && print_config) {
    // Every serve option with its effective value: the blocks (description
    // comment + key) of serve's options, without this flag itself.
    const std::string config = app.config_to_str(/*default_also=*/true, /*write_description=*/true);
    std::string out = "# quiver serve configuration (quiver serve --config FILE)\n";
    size_t at = 0;
    while (at < config.size()) {
      size_t end = config.find("\n\n", at);
      if (end == std::string::npos) end = config.size();
      const std::string block = config.substr(at, end - at);
      const bool option = block.find("serve.") != std::string::npos;
      if (option && block.find("print-config") == std::string::npos) out += "\n" + block + "\n";
      at = end + 2;
    }
    std::cout << out;
    return 0;
  }
  if (*serve) {
    quiver::log::SetFormat(log_format);
    spdlog::set_level(spdlog::level::from_str(log_level));
    server_options.max_body_bytes = max_body_mb << 20;
    table.seal_bytes = seal_mb << 20;
    table.seal_age = std::chrono::seconds(seal_seconds);
    if (!api_keys_path.empty()) {
      auto text = quiver::NewPosixFileSystem()->ReadFile(api_keys_path);
      auto keys = text.ok() ? quiver::KeyRing::Parse(*text) : text.status();
      if (!keys.ok()) {
        quiver::log::Get("server").critical("--api-keys {}: {}", api_keys_path,
                                            keys.status().ToString());
        return 2;
      }
      server_options.keys = std::move(keys).value();
      quiver::log::Get("server").info("authentication on: {} API key(s) from {}",
                                      server_options.keys.size(), api_keys_path);
    } else {
      const bool loopback = server_options.host == "127.0.0.1" ||
                            server_options.host == "localhost" || server_options.host == "::1";
      if (!loopback && !allow_open_remote) {
        quiver::log::Get("server").critical(
            "refusing to listen on {} without API keys: give --api-keys FILE, or "
            "--allow-remote-without-keys to serve unauthenticated",
            server_options.host);
        return 2;
      }
      quiver::log::Get("server").warn(
          "no API keys configured: authentication is off{}",
          loopback ? "; listening on loopback only" : " on a non-loopback address");
    }
    return Serve(engine_options, server_options);
  }
  if (auto code = cluster_roles.Run()) return *code;
  if (auto code = quiver::RunClusterCommand(cluster)) return *code;
  if (*inspect_wal) return quiver::InspectWal(inspect_path, std::cout);
  if (*inspect_catalog) return quiver::InspectCatalog(inspect_path, std::cout);
  if (*inspect_segment) return quiver::InspectSegment(inspect_path, std::cout);
  if (*inspect_manifest) return quiver::InspectManifest(inspect_path, std::cout);
  if (*inspect_index) return quiver::InspectIndex(inspect_path, std::cout);
  return 0;
}
