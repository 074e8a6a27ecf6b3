// T13: every route the router registers is covered by authentication. The
// test walks HttpServer::Routes() and calls each route with no key, a wrong
// key, a key for another database, a read-only key and an admin key.

#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <thread>

#include "engine/engine.h"
#include "server/http_server.h"
#include "test_util.h"

namespace quiver {
namespace {

constexpr char kAdmin[] = "admin-secret-0123456789";
constexpr char kReader[] = "reader-secret-0123456789";
constexpr char kOther[] = "other-secret-0123456789";

class RunningServer {
 public:
  explicit RunningServer(ServerOptions options) {
    EngineOptions engine_options{dir_.path(), {}, std::chrono::milliseconds(0)};
    engine_options.index_threads = 0;
    auto engine = Engine::Open(NewPosixFileSystem(), engine_options);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(engine).value();
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<HttpServer>(engine_.get(), options);
    auto port = server_->Bind();
    EXPECT_TRUE(port.ok());
    port_ = *port;
    thread_ = std::thread([this] { server_->Serve(); });
  }
  ~RunningServer() {
    server_->Stop();
    thread_.join();
  }

  // Status of `method path` with `body`, sending `key` in X-API-Key (or none).
  int Call(const std::string& method, const std::string& path, const std::string& body,
           const std::string& key, const std::string& header = "X-API-Key") {
    httplib::Client client("127.0.0.1", port_);
    httplib::Headers headers;
    if (!key.empty()) headers.emplace(header, header == "Authorization" ? "Bearer " + key : key);
    httplib::Result r = method == "GET"    ? client.Get(path, headers)
                        : method == "POST" ? client.Post(path, headers, body, "application/json")
                                           : client.Delete(path, headers);
    return r ? r->status : -1;
  }

  // The body of GET `path` with `key`.
  std::string Body(const std::string& path, const std::string& key) {
    httplib::Client client("127.0.0.1", port_);
    httplib::Result r = client.Get(path, {{"X-API-Key", key}});
    return r ? r->body : "";
  }

 private:
  testing::TempDir dir_{true};
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  int port_ = 0;
};

ServerOptions WithKeys() {
  ServerOptions options;
  auto keys = KeyRing::FromKeys({{"admin", kAdmin, {"*"}, false},
                                 {"reader", kReader, {"db"}, true},
                                 {"other", kOther, {"elsewhere"}, false}});
  EXPECT_TRUE(keys.ok());
  options.keys = std::move(keys).value();
  return options;
}

// The pattern's first capture group becomes the database "db", any later
// one the table "t".
std::string ConcretePath(std::string path) {
  const std::string group = "([^/]+)";
  for (const char* name : {"db", "t", "t"}) {
    const size_t at = path.find(group);
    if (at == std::string::npos) break;
    path.replace(at, group.size(), name);
  }
  if (path.ends_with("/?")) path.resize(path.size() - 2);  // an optional trailing slash
  return path;
}

TEST(Auth, EveryRouteIsCoveredByAuthentication) {
  RunningServer server(WithKeys());
  const std::string body = R"({"name": "db", "table": "t"})";
  ASSERT_EQ(server.Call("POST", "/api/load", R"({"name": "db"})", kAdmin), 200);
  ASSERT_EQ(server.Call("POST", "/api/db/schema/tables",
                        R"({"name": "t", "fields": [{"name": "id", "dataType": "INT",
                            "primaryKey": true}]})",
                        kAdmin),
            200);
  // The policy, pinned: a route added without a line here fails the test.
  const std::map<std::string, Access> policy = {
      {"GET /", Access::kAnyKey},
      {"GET /metrics", Access::kAnyKey},
      {"GET /api/databases", Access::kAnyKey},
      {"GET /state", Access::kPublic},
      {"GET /health", Access::kPublic},
      {"GET /ready", Access::kPublic},
      {"POST /api/load", Access::kWrite},
      {"POST /api/rebuild", Access::kAdmin},
      {"GET /api/cluster", Access::kAdmin},
      {"POST /api/{db}/unload", Access::kWrite},
      {"DELETE /api/{db}/drop", Access::kWrite},
      {"POST /api/{db}/schema/tables", Access::kWrite},
      {"GET /api/{db}/schema/tables/show", Access::kRead},
      {"GET /api/{db}/schema/tables/{table}/describe", Access::kRead},
      {"DELETE /api/{db}/schema/tables/{table}", Access::kWrite},
      {"POST /api/{db}/data/insert", Access::kWrite},
      {"POST /api/{db}/data/delete", Access::kWrite},
      {"POST /api/{db}/data/query", Access::kRead},
      {"POST /api/{db}/data/get", Access::kRead},
      {"GET /api/{db}/statistics", Access::kRead},
  };
  const auto routes = HttpServer::Routes();
  EXPECT_EQ(routes.size(), policy.size());
  for (const RouteInfo& route : routes) {
    const std::string path = ConcretePath(route.pattern);
    SCOPED_TRACE(route.method + " " + path + " (" + AccessName(route.access) + ")");
    auto expected = policy.find(route.method + " " + route.label);
    ASSERT_NE(expected, policy.end()) << "a route the policy does not name";
    EXPECT_EQ(route.access, expected->second);
    const int none = server.Call(route.method, path, body, "");
    const int wrong = server.Call(route.method, path, body, "not-a-valid-key-at-all");
    if (route.access == Access::kPublic) {
      EXPECT_EQ(none, 200);
      EXPECT_EQ(wrong, 200);
      continue;
    }
    EXPECT_EQ(none, 401);
    EXPECT_EQ(wrong, 401);
    const int reader = server.Call(route.method, path, body, kReader);
    const int other = server.Call(route.method, path, body, kOther);
    switch (route.access) {
      case Access::kAnyKey:
        EXPECT_EQ(reader, 200);
        EXPECT_EQ(other, 200);
        break;
      case Access::kRead:
        EXPECT_NE(reader, 401);
        EXPECT_NE(reader, 403);
        EXPECT_EQ(other, 403);
        break;
      case Access::kWrite:
      case Access::kAdmin:
        EXPECT_EQ(reader, 403) << "a read-only key wrote";
        EXPECT_EQ(other, 403) << "a key for another database wrote";
        break;
      case Access::kPublic:
        break;
    }
    if (route.access == Access::kRead || route.access == Access::kAnyKey) {
      const int admin = server.Call(route.method, path, body, kAdmin);
      EXPECT_NE(admin, 401);
      EXPECT_NE(admin, 403);
      EXPECT_EQ(server.Call(route.method, path, body, kAdmin, "Authorization"), admin)
          << "Authorization: Bearer is not the same key";
    }
  }
}

TEST(Auth, DatabaseListShowsOnlyTheDatabasesAKeyMayUse) {
  RunningServer server(WithKeys());
  for (const char* name : {"db", "elsewhere", "third"}) {
    ASSERT_EQ(server.Call("POST", "/api/load", std::string(R"({"name": ")") + name + "\"}", kAdmin),
              200);
  }
  EXPECT_NE(server.Body("/api/databases", kAdmin).find(R"("result":["db","elsewhere","third"])"),
            std::string::npos)
      << server.Body("/api/databases", kAdmin);
  EXPECT_NE(server.Body("/api/databases", kReader).find(R"("result":["db"])"), std::string::npos);
  EXPECT_NE(server.Body("/api/databases", kOther).find(R"("result":["elsewhere"])"),
            std::string::npos);
  EXPECT_EQ(server.Call("GET", "/api/databases", "", ""), 401);
}

TEST(HttpServerLifecycle, StopBeforeOrRightAfterServeStartsEndsServe) {
  // Stop first: Serve returns at once instead of serving forever.
  {
    ServerOptions options;
    options.host = "127.0.0.1";
    HttpServer server(nullptr, options);
    ASSERT_TRUE(server.Bind().ok());
    server.Stop();
    server.Serve();
  }
  // Stop racing the accept loop's start: Serve still returns, every time.
  for (int i = 0; i < 50; ++i) {
    ServerOptions options;
    options.host = "127.0.0.1";
    HttpServer server(nullptr, options);
    ASSERT_TRUE(server.Bind().ok());
    std::thread serving([&server] { server.Serve(); });
    server.Stop();
    serving.join();
  }
}

TEST(Auth, RateLimitAnswers429PerKey) {
  ServerOptions options = WithKeys();
  options.rate_limit = 3;
  RunningServer server(options);
  int limited = 0;
  for (int i = 0; i < 10; ++i) limited += server.Call("GET", "/metrics", "", kAdmin) == 429;
  EXPECT_GE(limited, 5) << "10 requests at once against 3 per second";
  EXPECT_EQ(server.Call("GET", "/metrics", "", kReader), 200) << "another key has its own budget";
  EXPECT_EQ(server.Call("GET", "/health", "", ""), 200) << "probes are never limited";
}

TEST(Auth, KeyFilesAreCheckedStrictly) {
  EXPECT_TRUE(KeyRing::Parse(R"({"keys": [{"name": "a", "key": "0123456789abcdef"}]})").ok());
  for (const char* bad : {
           R"({"keys": [{"name": "a", "key": "short"}]})",
           R"({"keys": [{"name": "a", "key": "0123456789abcdef", "admin": true}]})",
           R"({"keys": [{"name": "a", "key": "0123456789abcdef"},
                        {"name": "a", "key": "0123456789abcdeg"}]})",
           R"({"keys": [{"name": "a", "key": "0123456789abcdef"},
                        {"name": "b", "key": "0123456789abcdef"}]})",
           R"({"keys": [{"name": "a", "key": "0123456789abcdef", "databases": "db"}]})",
           R"({"keys": [{"name": "a", "key": "0123456789abcdef", "readOnly": "yes"}]})",
           R"({"users": []})",
           R"(not json)",
       }) {
    EXPECT_FALSE(KeyRing::Parse(bad).ok()) << bad;
  }
}

TEST(Auth, WithoutKeysEveryRouteIsOpen) {
  RunningServer server({});
  EXPECT_EQ(server.Call("GET", "/metrics", "", ""), 200);
  EXPECT_EQ(server.Call("POST", "/api/load", R"({"name": "db"})", ""), 200);
}

}  // namespace
}  // namespace quiver
