#include "server/http_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "common/log.h"
#include "common/names.h"
#include "common/text.h"
#include "server/error_mapping.h"
#include "server/handlers.h"
#include "server/json_request.h"
#include "server/json_response.h"
#include "server/metrics.h"
#include "server/rate_limiter.h"
#include "server/worker_pool.h"

namespace quiver {

HttpServer::HttpServer(DatabaseService* engine, ServerOptions options)
    : engine_(engine), options_(std::move(options)) {
  if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
    auto tls =
        std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
    if (tls->is_valid()) SSL_CTX_set_min_proto_version(tls->ssl_context(), TLS1_2_VERSION);
    server_ = std::move(tls);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  const size_t threads = static_cast<size_t>(options_.threads);
  const size_t max_threads = std::max(threads, options_.max_connections);
  server_->new_task_queue = [threads, max_threads] {
    return new ElasticPool(threads, max_threads);
  };
  server_->set_payload_max_length(options_.max_body_bytes);
  server_->set_keep_alive_max_count(10000);
  server_->set_keep_alive_timeout(options_.keep_alive_seconds);
  // Responses go out as header and body writes; without TCP_NODELAY the
  // second waits for the client's delayed ACK (~40 ms per request).
  server_->set_tcp_nodelay(true);
  server_->set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        if (res.status == 413) {
          WriteEnvelope(res, 413, "request body exceeds the configured limit", std::nullopt);
        } else if (res.status == 404) {
          WriteEnvelope(res, 404, "no route for " + req.method + " " + req.path, std::nullopt);
        } else if (res.status == 400) {
          WriteEnvelope(res, 400,
                        "malformed HTTP request (a POST needs a Content-Length header, even with "
                        "an empty body)",
                        std::nullopt);
        } else {
          WriteEnvelope(res, res.status, "request failed", std::nullopt);
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  // A body announced larger than the limit is refused before it is read.
  server_->set_pre_routing_handler(
      [limit = options_.max_body_bytes](const httplib::Request& req, httplib::Response& res) {
        const std::string length = req.get_header_value("Content-Length");
        if (length.empty()) return httplib::Server::HandlerResponse::Unhandled;
        uint64_t announced = 0;
        auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), announced);
        const bool too_big =
            ec == std::errc::result_out_of_range ||
            (ec == std::errc() && end == length.data() + length.size() && announced > limit);
        if (!too_big) return httplib::Server::HandlerResponse::Unhandled;
        WriteEnvelope(res, 413,
                      "request body of " + length + " bytes exceeds the limit of " +
                          std::to_string(limit) + " bytes",
                      std::nullopt);
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      });
  server_->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, const std::exception_ptr& ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        log::Get("http").error("http: {} {} raised: {}", req.method, req.path, what);
        WriteEnvelope(res, 500, "internal error: " + what, std::nullopt);
      });
  RegisterRoutes();
}

HttpServer::~HttpServer() = default;

Status HttpServer::Valid() const {
  if (options_.tls_cert.empty() != options_.tls_key.empty())
    return Status::InvalidArgument("TLS needs both a certificate and a private key");
  if (!server_->is_valid()) {
    return Status::InvalidArgument("the TLS certificate " + options_.tls_cert + " or key " +
                                   options_.tls_key + " does not load");
  }
  return Status::OK();
}

namespace {

// A path parameter names the database: /api/{db}/...
enum class DbFrom { kNone, kPath, kBody };

struct RouteSpec {
  const char* method;
  std::string pattern;  // as registered (a regular expression)
  std::string label;    // readable, for metrics and errors
  Access access;
  DbFrom db;
  Handler handler;
};

std::vector<RouteSpec> RouteTable() {
  const std::string db = "/api/([^/]+)";
  const std::string table = "/([^/]+)";
  auto reply = [](const char* message) {
    return [message](DatabaseService&, const httplib::Request&) -> Result<Reply> {
      return Reply{message, std::nullopt};
    };
  };
  return {
      {"GET", "/state", "/state", Access::kPublic, DbFrom::kNone, reply("Server is online!")},
      {"GET", "/health", "/health", Access::kPublic, DbFrom::kNone, reply("alive")},
      // 503 until recovery is done (the guard answers for every route but /health).
      {"GET", "/ready", "/ready", Access::kPublic, DbFrom::kNone, reply("ready")},
      {"POST", "/api/load", "/api/load", Access::kWrite, DbFrom::kBody, LoadDatabase},
      {"POST", "/api/rebuild", "/api/rebuild", Access::kAdmin, DbFrom::kNone, Rebuild},
      {"GET", "/api/cluster", "/api/cluster", Access::kAdmin, DbFrom::kNone, DescribeCluster},
      {"POST", db + "/unload", "/api/{db}/unload", Access::kWrite, DbFrom::kPath, UnloadDatabase},
      // epsillajs sends DELETE /api/{db}/drop/ (with the slash).
      {"DELETE", db + "/drop/?", "/api/{db}/drop", Access::kWrite, DbFrom::kPath, DropDatabase},
      {"POST", db + "/schema/tables", "/api/{db}/schema/tables", Access::kWrite, DbFrom::kPath,
       CreateTable},
      {"GET", db + "/schema/tables/show", "/api/{db}/schema/tables/show", Access::kRead,
       DbFrom::kPath, ListTables},
      {"GET", db + "/schema/tables" + table + "/describe",
       "/api/{db}/schema/tables/{table}/describe", Access::kRead, DbFrom::kPath, DescribeTable},
      {"DELETE", db + "/schema/tables" + table, "/api/{db}/schema/tables/{table}", Access::kWrite,
       DbFrom::kPath, DropTable},
      {"POST", db + "/data/insert", "/api/{db}/data/insert", Access::kWrite, DbFrom::kPath, Insert},
      {"POST", db + "/data/delete", "/api/{db}/data/delete", Access::kWrite, DbFrom::kPath, Delete},
      {"POST", db + "/data/query", "/api/{db}/data/query", Access::kRead, DbFrom::kPath, Query},
      {"POST", db + "/data/get", "/api/{db}/data/get", Access::kRead, DbFrom::kPath, Get},
      {"GET", db + "/statistics", "/api/{db}/statistics", Access::kRead, DbFrom::kPath, Statistics},
  };
}

// The key as sent: X-API-Key, else Authorization: Bearer.
std::string PresentedKey(const httplib::Request& req) {
  if (req.has_header("X-API-Key")) return req.get_header_value("X-API-Key");
  const std::string auth = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0)
    return auth.substr(kBearer.size());
  return "";
}

// The database a route acts on, for the permission check.
std::string RouteDatabase(const RouteSpec& route, const httplib::Request& req) {
  if (route.db == DbFrom::kPath) return req.matches[1];
  if (route.db == DbFrom::kBody) {
    auto body = JsonBody::Parse(req.body);
    if (body.ok()) {
      auto name = body->OptionalString("name");
      if (name.ok() && *name) return **name;
    }
  }
  return "";
}

// A client's request id when it is short and plain, else a fresh one.
std::string RequestId(const httplib::Request& req) {
  static std::atomic<uint64_t> next{0};
  static const uint64_t prefix = std::random_device{}();
  std::string id = req.get_header_value("X-Request-Id");
  const bool plain =
      !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
  if (plain) return id;
  return fmt::format("{:08x}-{:x}", prefix & 0xffffffff, next.fetch_add(1) + 1);
}

}  // namespace

std::vector<RouteInfo> HttpServer::Routes() {
  std::vector<RouteInfo> out = {{"GET", "/", "/", Access::kAnyKey},
                                {"GET", "/metrics", "/metrics", Access::kAnyKey},
                                {"GET", "/api/databases", "/api/databases", Access::kAnyKey}};
  for (const RouteSpec& r : RouteTable()) out.push_back({r.method, r.pattern, r.label, r.access});
  return out;
}

void HttpServer::RegisterRoutes() {
  const std::vector<RouteSpec> table = RouteTable();
  std::vector<HttpMetrics::RouteLabel> labels = {
      {"GET", "/metrics"}, {"GET", "/"}, {"GET", "/api/databases"}};
  for (const RouteSpec& r : table) labels.push_back({r.method, r.label});
  metrics_ = std::make_shared<HttpMetrics>(std::move(labels));
  if (options_.rate_limit > 0) limiter_ = std::make_shared<RateLimiter>(options_.rate_limit);

  // Authentication, rate limit, request id and metrics around every route.
  auto guarded =
      [this](size_t metric, Access access,
             const std::function<std::string(const httplib::Request&)>& database,
             const std::function<void(const httplib::Request&, httplib::Response&)>& serve) {
        return [this, metric, access, database, serve](const httplib::Request& req,
                                                       httplib::Response& res) {
          const auto start = std::chrono::steady_clock::now();
          const std::string request_id = RequestId(req);
          res.set_header("X-Request-Id", request_id);
          std::string key_name;
          Status allowed = options_.keys.Check(PresentedKey(req), access, database(req), &key_name);
          if (allowed.ok() && limiter_ && access != Access::kPublic &&
              !limiter_->Take(key_name.empty() ? "addr:" + req.remote_addr : "key:" + key_name)) {
            allowed = Status::ResourceExhausted("request rate above " +
                                                fmt::format("{}", options_.rate_limit) +
                                                " per second for this key: slow down");
            res.set_header("Retry-After", "1");
          }
          if (allowed.ok() && engine_.load() == nullptr && req.path != "/health") {
            allowed = Status::Unavailable("starting: the data directory is being recovered");
            res.set_header("Retry-After", "1");
          }
          if (allowed.ok()) {
            serve(req, res);
          } else {
            WriteEnvelope(res, HttpStatusFor(allowed), allowed.message(), std::nullopt);
            if (allowed.code() == StatusCode::kUnauthenticated)
              res.set_header("WWW-Authenticate", "Bearer");
          }
          if (res.status >= 500) {
            log::Get("http").error("http: request {} {} {} -> {}", request_id, req.method, req.path,
                                   res.status);
          }
          metrics_->Observe(
              metric, res.status,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        };
      };
  auto no_database = [](const httplib::Request&) { return std::string(); };
  server_->Get("/", guarded(1, Access::kAnyKey, no_database,
                            [](const httplib::Request&, httplib::Response& res) {
                              res.set_content("Welcome to Quiver vector database.", "text/plain");
                            }));
  server_->Get("/metrics", guarded(0, Access::kAnyKey, no_database,
                                   [this](const httplib::Request&, httplib::Response& res) {
                                     res.set_content(metrics_->Render(*engine_.load()),
                                                     "text/plain; version=0.0.4; charset=utf-8");
                                   }));
  // The loaded databases the caller's key may use (all without keys).
  server_->Get("/api/databases",
               guarded(2, Access::kAnyKey, no_database,
                       [this](const httplib::Request& req, httplib::Response& res) {
                         DatabaseService* engine = engine_.load();
                         if (engine == nullptr) return;  // the guard answered 503 already
                         Json names = Json::array();
                         const std::string key = PresentedKey(req);
                         for (const std::string& name : engine->ListDatabases()) {
                           if (options_.keys.Check(key, Access::kRead, name, nullptr).ok())
                             names.push_back(name);
                         }
                         WriteEnvelope(res, 200, "Get all databases successfully.", names);
                       }));
  constexpr size_t kFirstTableMetric = 3;  // after /metrics, / and /api/databases
  for (size_t i = 0; i < table.size(); ++i) {
    const RouteSpec& route = table[i];
    auto serve = [this, route](const httplib::Request& req, httplib::Response& res) {
      DatabaseService* engine = engine_.load();
      if (engine == nullptr) {  // still recovering: only /health gets this far
        WriteEnvelope(res, 200, "alive", std::nullopt);
        return;
      }
      Result<Reply> reply = route.handler(*engine, req);
      if (!reply.ok()) {
        const Status& status = reply.status();
        const int code = HttpStatusFor(status);
        if (code >= 500)
          log::Get("http").error("http: {} {}: {}", req.method, req.path, status.ToString());
        WriteEnvelope(res, code, status.message(), std::nullopt);
        return;
      }
      WriteEnvelope(res, 200, reply->message, reply->result);
    };
    auto database = [route](const httplib::Request& req) { return RouteDatabase(route, req); };
    auto handler = guarded(i + kFirstTableMetric, route.access, database, serve);
    const std::string method = route.method;
    if (method == "GET") {
      server_->Get(route.pattern, handler);
    } else if (method == "POST") {
      server_->Post(route.pattern, handler);
    } else {
      server_->Delete(route.pattern, handler);
    }
  }
}

Result<int> HttpServer::Bind() {
  if (options_.port == 0) {
    int port = server_->bind_to_any_port(options_.host);
    if (port <= 0) return Status::IOError("cannot bind " + options_.host);
    return port;
  }
  if (!server_->bind_to_port(options_.host, options_.port)) {
    return Status::IOError("cannot bind " + options_.host + ":" + std::to_string(options_.port));
  }
  return options_.port;
}

void HttpServer::Serve() {
  serve_entered_ = true;
  if (!stop_requested_) server_->listen_after_bind();
  serve_returned_ = true;
}

void HttpServer::Stop() {
  stop_requested_ = true;
  while (serve_entered_ && !serve_returned_ && !server_->is_running()) std::this_thread::yield();
  server_->stop();
}

}  // namespace quiver
