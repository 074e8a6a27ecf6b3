#include "server/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "common/names.h"
#include "server/error_mapping.h"
#include "server/json_request.h"
#include "server/json_response.h"

namespace quiver {
namespace {

// What a handler produces on success: the envelope's message and result.
struct Reply {
  std::string message;
  std::optional<Json> result;
};

using Handler = std::function<Result<Reply>(Engine&, const httplib::Request&)>;

void WriteEnvelope(httplib::Response& res, int code, const std::string& message,
                   const std::optional<Json>& result) {
  Json body = {{"statusCode", code}, {"message", message}};
  if (result) body["result"] = *result;
  res.status = code;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

// Path parameters are names; check them before they reach the engine.
Result<std::string> PathName(const httplib::Request& req, size_t index, std::string_view what) {
  std::string name = req.matches[index];
  QV_RETURN_IF_ERROR(ValidateName(what, name));
  return name;
}

Result<Reply> LoadDatabase(Engine& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(JsonBody body, JsonBody::Parse(req.body));
  QV_ASSIGN_OR_RETURN(std::string name, body.RequiredString("name"));
  QV_RETURN_IF_ERROR(ValidateName("database", name));
  LoadOptions options;
  QV_ASSIGN_OR_RETURN(auto path, body.OptionalString("path"));
  options.client_path = path.value_or("");
  QV_ASSIGN_OR_RETURN(auto scale, body.OptionalInt("vectorScale"));
  options.vector_scale = scale.value_or(0);
  QV_ASSIGN_OR_RETURN(auto wal, body.OptionalBool("walEnabled"));
  options.wal_enabled = wal.value_or(true);
  QV_ASSIGN_OR_RETURN(bool created, engine.LoadDatabase(name, options));
  std::string message = (created ? "Create " : "Load ") + name + " successfully.";
  if (!options.wal_enabled) {
    message +=
        " walEnabled=false is ignored: every write is logged durably before it is acknowledged.";
  }
  return Reply{message, std::nullopt};
}

Result<Reply> UnloadDatabase(Engine& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_RETURN_IF_ERROR(engine.UnloadDatabase(db));
  return Reply{"Unload " + db + " successfully.", std::nullopt};
}

Result<Reply> DropDatabase(Engine& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_RETURN_IF_ERROR(engine.DropDatabase(db));
  return Reply{"Drop " + db + " successfully.", std::nullopt};
}

Result<Reply> CreateTable(Engine& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_ASSIGN_OR_RETURN(JsonBody body, JsonBody::Parse(req.body));
  QV_ASSIGN_OR_RETURN(TableSchema schema, DecodeTableSchema(body));
  const std::string name = schema.name;
  QV_RETURN_IF_ERROR(engine.CreateTable(db, std::move(schema)));
  return Reply{"Create " + name + " successfully.", std::nullopt};
}

Result<Reply> DropTable(Engine& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_ASSIGN_OR_RETURN(std::string table, PathName(req, 2, "table"));
  QV_RETURN_IF_ERROR(engine.DropTable(db, table));
  return Reply{"Drop " + table + " from " + db + " successfully.", std::nullopt};
}

Result<Reply> ListTables(Engine& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_ASSIGN_OR_RETURN(auto names, engine.ListTables(db));
  return Reply{"Get all tables in " + db + " successfully.", Json(names)};
}

Result<Reply> DescribeTable(Engine& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_ASSIGN_OR_RETURN(std::string table, PathName(req, 2, "table"));
  QV_ASSIGN_OR_RETURN(TableInfo info, engine.DescribeTable(db, table));
  return Reply{"Get information of " + table + " from " + db + " successfully.",
               EncodeTableInfo(info)};
}

// Parses the body and finds the table it names.
Result<std::pair<JsonBody, std::shared_ptr<Table>>> BodyAndTable(Engine& engine,
                                                                 const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_ASSIGN_OR_RETURN(JsonBody body, JsonBody::Parse(req.body));
  QV_ASSIGN_OR_RETURN(std::string name, body.RequiredString("table"));
  QV_RETURN_IF_ERROR(ValidateName("table", name));
  QV_ASSIGN_OR_RETURN(auto table, engine.FindTable(db, name));
  return std::make_pair(std::move(body), std::move(table));
}

Result<Reply> Insert(Engine& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(auto found, BodyAndTable(engine, req));
  auto& [body, table] = found;
  auto data = body.Get("data");
  if (!data) return Status::InvalidArgument("data is missing");
  QV_ASSIGN_OR_RETURN(RecordBatch batch, DecodeRecords(table->schema(), *data));
  QV_ASSIGN_OR_RETURN(auto upsert, body.OptionalBool("upsert"));
  QV_ASSIGN_OR_RETURN(InsertCounts counts, table->Insert(batch, upsert.value_or(false)));
  return Reply{"Insert data to " + table->schema().name + " successfully.",
               Json{{"inserted", counts.inserted}, {"skipped", counts.skipped}}};
}

Result<Reply> Delete(Engine& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(auto found, BodyAndTable(engine, req));
  auto& [body, table] = found;
  QV_ASSIGN_OR_RETURN(auto filter, body.OptionalString("filter"));
  auto keys = body.Get("primaryKeys");
  if (keys && filter) return Status::InvalidArgument("give primaryKeys or filter, not both");
  uint64_t deleted = 0;
  if (keys) {
    QV_ASSIGN_OR_RETURN(auto decoded, DecodeKeys(*keys));
    QV_ASSIGN_OR_RETURN(deleted, table->Delete(decoded));
  } else if (filter) {
    QV_ASSIGN_OR_RETURN(deleted, table->DeleteWhere(*filter));
  } else {
    return Status::InvalidArgument("primaryKeys or filter is required");
  }
  return Reply{"Delete data from " + table->schema().name + " successfully.",
               Json{{"deleted", deleted}}};
}

Result<Reply> Query(Engine& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(auto found, BodyAndTable(engine, req));
  auto& [body, table] = found;
  if (body.Has("queries")) {  // hybrid search
    QV_ASSIGN_OR_RETURN(HybridRequest request, DecodeHybridRequest(body));
    QV_ASSIGN_OR_RETURN(ResultSet result, table->HybridSearch(request));
    return Reply{"Query search successfully.", EncodeResultSet(table->schema(), result)};
  }
  QV_ASSIGN_OR_RETURN(SearchRequest request, DecodeSearchRequest(body));
  QV_ASSIGN_OR_RETURN(ResultSet result, table->Search(request));
  return Reply{"Query search successfully.",
               EncodeQueryResult(table->schema(), result, body.Has("response"))};
}

Result<Reply> Get(Engine& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(auto found, BodyAndTable(engine, req));
  auto& [body, table] = found;
  QV_ASSIGN_OR_RETURN(GetRequest request, DecodeGetRequest(body));
  QV_ASSIGN_OR_RETURN(ResultSet result, table->Get(request));
  return Reply{"Query get successfully.",
               EncodeQueryResult(table->schema(), result, body.Has("response"))};
}

Result<Reply> Statistics(Engine& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_ASSIGN_OR_RETURN(auto stats, engine.Statistics(db));
  Json result = Json::array();
  for (const auto& s : stats) {
    Json table = {{"tableName", s.name}, {"totalRecords", s.stats.live_rows}};
    AddStorageFields(s.stats, s.health, &table);
    result.push_back(std::move(table));
  }
  return Reply{"Get statistics of " + db + " successfully.", result};
}

Result<Reply> Rebuild(Engine& engine, const httplib::Request&) {
  // Seals every growing segment and waits for every index build.
  QV_RETURN_IF_ERROR(engine.Rebuild());
  return Reply{"Rebuild finished!", std::nullopt};
}

}  // namespace

HttpServer::HttpServer(Engine* engine, ServerOptions options)
    : engine_(engine), options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
  const int threads = options_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
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
  server_->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("http: {} {} raised: {}", req.method, req.path, what);
        WriteEnvelope(res, 500, "internal error: " + what, std::nullopt);
      });
  RegisterRoutes();
}

HttpServer::~HttpServer() = default;

void HttpServer::RegisterRoutes() {
  auto wrap = [this](Handler handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      Result<Reply> reply = handler(*engine_, req);
      if (!reply.ok()) {
        const Status& status = reply.status();
        const int code = HttpStatusFor(status);
        if (code >= 500) spdlog::error("http: {} {}: {}", req.method, req.path, status.ToString());
        WriteEnvelope(res, code, status.message(), std::nullopt);
        return;
      }
      WriteEnvelope(res, 200, reply->message, reply->result);
    };
  };
  const std::string db = "/api/([^/]+)";
  const std::string table = "/([^/]+)";
  server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Welcome to Quiver vector database.", "text/plain");
  });
  server_->Get("/state", [](const httplib::Request&, httplib::Response& res) {
    WriteEnvelope(res, 200, "Server is online!", std::nullopt);
  });
  server_->Post("/api/load", wrap(LoadDatabase));
  server_->Post("/api/rebuild", wrap(Rebuild));
  server_->Post(db + "/unload", wrap(UnloadDatabase));
  server_->Delete(db + "/drop", wrap(DropDatabase));
  server_->Post(db + "/schema/tables", wrap(CreateTable));
  server_->Get(db + "/schema/tables/show", wrap(ListTables));
  server_->Get(db + "/schema/tables" + table + "/describe", wrap(DescribeTable));
  server_->Delete(db + "/schema/tables" + table, wrap(DropTable));
  server_->Post(db + "/data/insert", wrap(Insert));
  server_->Post(db + "/data/delete", wrap(Delete));
  server_->Post(db + "/data/query", wrap(Query));
  server_->Post(db + "/data/get", wrap(Get));
  server_->Get(db + "/statistics", wrap(Statistics));
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
  server_->listen_after_bind();
}

void HttpServer::Stop() {
  server_->stop();
}

}  // namespace quiver
