#include "server/handlers.h"

#include "common/names.h"
#include "common/text.h"
#include "server/json_request.h"

namespace quiver {

// Messages quote clients' values shortened (common/text.h Quoted); this
// bound is the last guard that no message grows with the input.
constexpr size_t kMaxMessageChars = 2048;

void WriteEnvelope(httplib::Response& res, int code, const std::string& message,
                   const std::optional<Json>& result) {
  Json body = {{"statusCode", code}, {"message", Shortened(message, kMaxMessageChars)}};
  if (result) body["result"] = *result;
  res.status = code;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

namespace {

// Path parameters are names; check them before they reach the engine.
Result<std::string> PathName(const httplib::Request& req, size_t index, std::string_view what) {
  std::string name = req.matches[index];
  QV_RETURN_IF_ERROR(ValidateName(what, name));
  return name;
}

}  // namespace

Result<Reply> LoadDatabase(DatabaseService& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(JsonBody body, JsonBody::Parse(req.body));
  static constexpr std::string_view kKeys[] = {"name", "path", "vectorScale", "walEnabled"};
  QV_RETURN_IF_ERROR(body.CheckKeys(kKeys));
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

Result<Reply> UnloadDatabase(DatabaseService& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_RETURN_IF_ERROR(engine.UnloadDatabase(db));
  return Reply{"Unload " + db + " successfully.", std::nullopt};
}

Result<Reply> DropDatabase(DatabaseService& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_RETURN_IF_ERROR(engine.DropDatabase(db));
  return Reply{"Drop " + db + " successfully.", std::nullopt};
}

Result<Reply> CreateTable(DatabaseService& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_ASSIGN_OR_RETURN(JsonBody body, JsonBody::Parse(req.body));
  QV_ASSIGN_OR_RETURN(TableSchema schema, DecodeTableSchema(body));
  QV_ASSIGN_OR_RETURN(auto shards, body.OptionalInt("shards"));
  QV_ASSIGN_OR_RETURN(auto replicas, body.OptionalInt("replicas"));
  const std::string name = schema.name;
  QV_RETURN_IF_ERROR(
      engine.CreateTable(db, std::move(schema), shards.value_or(1), replicas.value_or(0)));
  return Reply{"Create " + name + " successfully.", std::nullopt};
}

Result<Reply> DropTable(DatabaseService& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_ASSIGN_OR_RETURN(std::string table, PathName(req, 2, "table"));
  QV_RETURN_IF_ERROR(engine.DropTable(db, table));
  return Reply{"Drop " + table + " from " + db + " successfully.", std::nullopt};
}

Result<Reply> ListTables(DatabaseService& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_ASSIGN_OR_RETURN(auto names, engine.ListTables(db));
  return Reply{"Get all tables in " + db + " successfully.", Json(names)};
}

Result<Reply> DescribeTable(DatabaseService& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_ASSIGN_OR_RETURN(std::string table, PathName(req, 2, "table"));
  QV_ASSIGN_OR_RETURN(TableInfo info, engine.DescribeTable(db, table));
  return Reply{"Get information of " + table + " from " + db + " successfully.",
               EncodeTableInfo(info)};
}

namespace {

// Parses the body and finds the table it names.
Result<std::pair<JsonBody, std::shared_ptr<Collection>>> BodyAndTable(DatabaseService& engine,
                                                                      const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(std::string db, PathName(req, 1, "database"));
  QV_ASSIGN_OR_RETURN(JsonBody body, JsonBody::Parse(req.body));
  QV_ASSIGN_OR_RETURN(std::string name, body.RequiredString("table"));
  QV_RETURN_IF_ERROR(ValidateName("table", name));
  QV_ASSIGN_OR_RETURN(auto table, engine.FindCollection(db, name));
  return std::make_pair(body, std::move(table));
}

}  // namespace

Result<Reply> Insert(DatabaseService& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(auto found, BodyAndTable(engine, req));
  auto& [body, table] = found;
  static constexpr std::string_view kKeys[] = {"table", "data", "upsert"};
  QV_RETURN_IF_ERROR(body.CheckKeys(kKeys));
  auto data = body.Get("data");
  if (!data) return Status::InvalidArgument("data is missing");
  QV_ASSIGN_OR_RETURN(RecordBatch batch, DecodeRecords(table->schema(), *data));
  QV_ASSIGN_OR_RETURN(auto upsert, body.OptionalBool("upsert"));
  QV_ASSIGN_OR_RETURN(InsertCounts counts, table->Insert(batch, upsert.value_or(false)));
  return Reply{"Insert data to " + table->schema().name + " successfully.",
               Json{{"inserted", counts.inserted},
                    {"skipped", counts.skipped},
                    {"lsn", EncodeShardLsns(counts.shard_lsns)}}};
}

Result<Reply> Delete(DatabaseService& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(auto found, BodyAndTable(engine, req));
  auto& [body, table] = found;
  static constexpr std::string_view kKeys[] = {"table", "primaryKeys", "filter"};
  QV_RETURN_IF_ERROR(body.CheckKeys(kKeys));
  QV_ASSIGN_OR_RETURN(auto filter, body.OptionalString("filter"));
  auto keys = body.Get("primaryKeys");
  if (keys && filter) return Status::InvalidArgument("give primaryKeys or filter, not both");
  DeleteCounts counts;
  if (keys) {
    QV_ASSIGN_OR_RETURN(auto decoded, DecodeKeys(*keys));
    QV_ASSIGN_OR_RETURN(counts, table->Delete(decoded));
  } else if (filter) {
    QV_ASSIGN_OR_RETURN(counts, table->DeleteWhere(*filter));
  } else {
    return Status::InvalidArgument("primaryKeys or filter is required");
  }
  return Reply{"Delete data from " + table->schema().name + " successfully.",
               Json{{"deleted", counts.deleted}, {"lsn", EncodeShardLsns(counts.shard_lsns)}}};
}

Result<Reply> Query(DatabaseService& engine, const httplib::Request& req) {
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

Result<Reply> Get(DatabaseService& engine, const httplib::Request& req) {
  QV_ASSIGN_OR_RETURN(auto found, BodyAndTable(engine, req));
  auto& [body, table] = found;
  QV_ASSIGN_OR_RETURN(GetRequest request, DecodeGetRequest(body));
  QV_ASSIGN_OR_RETURN(ResultSet result, table->Get(request));
  return Reply{"Query get successfully.",
               EncodeQueryResult(table->schema(), result, body.Has("response"))};
}

Result<Reply> Statistics(DatabaseService& engine, const httplib::Request& req) {
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

Result<Reply> DescribeCluster(DatabaseService& engine, const httplib::Request& /*req*/) {
  QV_ASSIGN_OR_RETURN(std::string text, engine.DescribeCluster());
  return Reply{"The cluster", Json::parse(text)};
}

Result<Reply> Rebuild(DatabaseService& engine, const httplib::Request& /*req*/) {
  // Seals every growing segment and waits for every index build.
  QV_RETURN_IF_ERROR(engine.Rebuild());
  return Reply{"Rebuild finished!", std::nullopt};
}

}  // namespace quiver
