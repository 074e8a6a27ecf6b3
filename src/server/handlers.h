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
#include "engine/engine.h"
#include "server/json_response.h"

namespace quiver {

// What a handler produces on success: the envelope's message and result.
struct Reply {
  std::string message;
  std::optional<Json> result;
};

using Handler = std::function<Result<Reply>(Engine&, const httplib::Request&)>;

// Writes Quiver's JSON envelope {"statusCode", "message", "result"}.
void WriteEnvelope(httplib::Response& res, int code, const std::string& message,
                   const std::optional<Json>& result);

Result<Reply> LoadDatabase(Engine& engine, const httplib::Request& req);
Result<Reply> UnloadDatabase(Engine& engine, const httplib::Request& req);
Result<Reply> DropDatabase(Engine& engine, const httplib::Request& req);
Result<Reply> CreateTable(Engine& engine, const httplib::Request& req);
Result<Reply> DropTable(Engine& engine, const httplib::Request& req);
Result<Reply> ListTables(Engine& engine, const httplib::Request& req);
Result<Reply> DescribeTable(Engine& engine, const httplib::Request& req);
Result<Reply> Insert(Engine& engine, const httplib::Request& req);
Result<Reply> Delete(Engine& engine, const httplib::Request& req);
Result<Reply> Query(Engine& engine, const httplib::Request& req);
Result<Reply> Get(Engine& engine, const httplib::Request& req);
Result<Reply> Statistics(Engine& engine, const httplib::Request& req);
Result<Reply> Rebuild(Engine& engine, const httplib::Request& req);

}  // namespace quiver
