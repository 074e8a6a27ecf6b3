#pragma once

// The REST handlers: each decodes one request into engine types, calls the
// engine, and says what the envelope carries (docs/API.md). The router
// (http_server.cc) wraps them with authentication, limits and metrics.

#include <httplib.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/collection.h"
#include "server/json_response.h"

namespace quiver {

// What a handler produces on success: the envelope's message and result.
struct Reply {
  std::string message;
  std::optional<Json> result;
};

using Handler = std::function<Result<Reply>(DatabaseService&, const httplib::Request&)>;

// Writes Quiver's JSON envelope {"statusCode", "message", "result"}.
void WriteEnvelope(httplib::Response& res, int code, const std::string& message,
                   const std::optional<Json>& result);

Result<Reply> LoadDatabase(DatabaseService& engine, const httplib::Request& req);
Result<Reply> UnloadDatabase(DatabaseService& engine, const httplib::Request& req);
Result<Reply> DropDatabase(DatabaseService& engine, const httplib::Request& req);
Result<Reply> CreateTable(DatabaseService& engine, const httplib::Request& req);
Result<Reply> DescribeCluster(DatabaseService& engine, const httplib::Request& req);
Result<Reply> DropTable(DatabaseService& engine, const httplib::Request& req);
Result<Reply> ListTables(DatabaseService& engine, const httplib::Request& req);
Result<Reply> DescribeTable(DatabaseService& engine, const httplib::Request& req);
Result<Reply> Insert(DatabaseService& engine, const httplib::Request& req);
Result<Reply> Delete(DatabaseService& engine, const httplib::Request& req);
Result<Reply> Query(DatabaseService& engine, const httplib::Request& req);
Result<Reply> Get(DatabaseService& engine, const httplib::Request& req);
Result<Reply> Statistics(DatabaseService& engine, const httplib::Request& req);
Result<Reply> Rebuild(DatabaseService& engine, const httplib::Request& req);

}  // namespace quiver
