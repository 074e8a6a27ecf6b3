#pragma once

// Reading request bodies: a parsed JSON object with typed accessors, and the
// JSON forms of vectors. Every failure is a kInvalidArgument naming the key.

#include <simdjson.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "schema/types.h"

namespace quiver {

// Nesting deeper than this is refused (a guard against stack exhaustion).
inline constexpr size_t kMaxJsonDepth = 64;

// A parsed JSON object body. Views into it stay valid until the next Parse
// on the same thread (the parser is per thread).
class JsonBody {
 public:
  static Result<JsonBody> Parse(std::string_view body);

  bool Has(std::string_view key) const;
  Result<std::string> RequiredString(std::string_view key) const;
  Result<std::optional<std::string>> OptionalString(std::string_view key) const;
  Result<std::optional<bool>> OptionalBool(std::string_view key) const;
  Result<std::optional<int64_t>> OptionalInt(std::string_view key) const;
  Result<std::optional<std::vector<std::string>>> OptionalStringList(std::string_view key) const;
  std::optional<simdjson::dom::element> Get(std::string_view key) const;
  // Refuses a key that is not in `known` (see CheckKeys below).
  Status CheckKeys(std::span<const std::string_view> known) const;

 private:
  simdjson::dom::object root_;
};

Result<std::vector<float>> DecodeVector(simdjson::dom::element value, std::string_view what);
// {"indices": [...], "values": [...]}: equal lengths, indices 0 .. 2^32-1 and
// distinct; returned sorted by index.
Result<SparseVector> DecodeSparse(simdjson::dom::element value, std::string_view what);

Status InvalidRequest(std::string message);
// A key of `object` that is not in `known` is a kInvalidArgument naming it
// (shortened) and the key it most likely meant: "<where>: unknown key
// 'filtr' (did you mean 'filter'?)", or the known keys when none is close.
// `where` is empty for a request body's top level.
Status CheckKeys(simdjson::dom::object object, std::span<const std::string_view> known,
                 std::string_view where);
// "an array", "a string", ... for error messages.
const char* JsonTypeName(simdjson::dom::element_type type);
// An int64, or an error naming `what`.
Result<int64_t> JsonInteger(simdjson::dom::element value, const std::string& what);

}  // namespace quiver
