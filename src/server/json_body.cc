#include "server/json_body.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "common/text.h"

namespace quiver {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

Status Invalid(std::string message) {
  return InvalidRequest(std::move(message));
}

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser = [] {
    simdjson::dom::parser p;
    // Sets the depth limit; on failure the first parse reports the error.
    [[maybe_unused]] auto error = p.allocate(1 << 16, kMaxJsonDepth);
    return p;
  }();
  return parser;
}

// nlohmann's SAX parser, run only on a body simdjson refused, for the byte
// where it goes wrong (simdjson does not say). No document is built.
class ErrorLocator final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) override {
    error_at = position;
    return false;
  }
  std::optional<size_t> error_at;  // 1-based byte position
};

// "request body is not valid JSON at line 3, column 14 (byte 40): NaN and
// Infinity are not JSON numbers ...".
std::string DescribeJsonError(std::string_view body, simdjson::error_code error) {
  std::string message = "request body is not valid JSON";
  ErrorLocator locator;
  nlohmann::json::sax_parse(body.begin(), body.end(), &locator,
                            nlohmann::json::input_format_t::json, /*strict=*/true);
  if (!locator.error_at) return message + ": " + simdjson::error_message(error);
  // The locator points just past the offending token: back up to its start.
  size_t at = std::min(*locator.error_at, body.size());
  if (at > 0) --at;
  while (at > 0 && (std::isalnum(static_cast<unsigned char>(body[at - 1])) || body[at - 1] == '-' ||
                    body[at - 1] == '+' || body[at - 1] == '.')) {
    --at;
  }
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < at; ++i) {
    if (body[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  message += " at line " + std::to_string(line) + ", column " +
             std::to_string(at - line_start + 1) + " (byte offset " + std::to_string(at) + ")";
  size_t end = at;
  while (end < body.size() && end - at < 16 &&
         (std::isalnum(static_cast<unsigned char>(body[end])) || body[end] == '-' ||
          body[end] == '+' || body[end] == '.')) {
    ++end;
  }
  std::string token(body.substr(at, end - at));
  if (!token.empty() && (token[0] == '-' || token[0] == '+')) token.erase(0, 1);
  if (token.rfind("NaN", 0) == 0 || token.rfind("nan", 0) == 0 || token.rfind("Inf", 0) == 0 ||
      token.rfind("inf", 0) == 0) {
    return message + ": NaN and Infinity are not JSON numbers (send finite numbers)";
  }
  const size_t shown = std::min<size_t>(body.size() - at, 16);
  return message + " near " + Quoted(body.substr(at, shown)) + ": " +
         simdjson::error_message(error);
}

}  // namespace

Status InvalidRequest(std::string message) {
  return Status::InvalidArgument(std::move(message));
}

namespace {

// Names other databases' clients use for a key we spell differently.
constexpr std::pair<std::string_view, std::string_view> kKeyAliases[] = {
    {"offset", "skip"},      {"ids", "primaryKeys"},      {"topk", "limit"},
    {"top_k", "limit"},      {"vector", "queryVector"},   {"k", "limit"},
    {"id", "primaryKeys"},   {"collection", "table"},     {"collectionName", "table"},
    {"data", "queryVector"}, {"annsField", "queryField"}, {"outputFields", "response"},
};

std::optional<std::string_view> MeantKey(std::string_view key,
                                         std::span<const std::string_view> known) {
  for (const auto& [alias, meant] : kKeyAliases) {
    if (key == alias && std::find(known.begin(), known.end(), meant) != known.end()) return meant;
  }
  return NearestName(key, known);
}

}  // namespace

Status CheckKeys(simdjson::dom::object object, std::span<const std::string_view> known,
                 std::string_view where) {
  for (auto [key, value] : object) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string message =
        (where.empty() ? "" : std::string(where) + ": ") + "unknown key " + Quoted(key);
    if (auto meant = MeantKey(key, known)) {
      message += " (did you mean '" + std::string(*meant) + "'?)";
    } else {
      message += " (known keys:";
      for (size_t i = 0; i < known.size(); ++i) message += (i ? ", " : " ") + std::string(known[i]);
      message += ")";
    }
    return Invalid(std::move(message));
  }
  return Status::OK();
}

Status JsonBody::CheckKeys(std::span<const std::string_view> known) const {
  return quiver::CheckKeys(root_, known, "");
}

const char* JsonTypeName(simdjson::dom::element_type type) {
  switch (type) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
      return "an integer";
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

Result<int64_t> JsonInteger(simdjson::dom::element value, const std::string& what) {
  int64_t v;
  if (value.get_int64().get(v) == simdjson::SUCCESS) return v;
  if (value.type() == element_type::UINT64) return Invalid(what + " is out of range");
  return Invalid(what + " must be an integer, not " + JsonTypeName(value.type()));
}

Result<JsonBody> JsonBody::Parse(std::string_view body) {
  element root;
  auto error = ThreadParser().parse(body.data(), body.size()).get(root);
  if (error == simdjson::DEPTH_ERROR) {
    return Invalid("request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  if (error != simdjson::SUCCESS) return Invalid(DescribeJsonError(body, error));
  JsonBody out;
  if (root.get_object().get(out.root_) != simdjson::SUCCESS) {
    return Invalid("request body must be a JSON object");
  }
  return out;
}

std::optional<element> JsonBody::Get(std::string_view key) const {
  element value;
  if (root_.at_key(key).get(value) != simdjson::SUCCESS) return std::nullopt;
  if (value.type() == element_type::NULL_VALUE) return std::nullopt;
  return value;
}

bool JsonBody::Has(std::string_view key) const {
  return Get(key).has_value();
}

Result<std::optional<std::string>> JsonBody::OptionalString(std::string_view key) const {
  auto value = Get(key);
  if (!value) return std::optional<std::string>();
  std::string_view s;
  if (value->get_string().get(s) != simdjson::SUCCESS) {
    return Invalid(std::string(key) + " must be a string, not " + JsonTypeName(value->type()));
  }
  return std::optional<std::string>(std::string(s));
}

Result<std::string> JsonBody::RequiredString(std::string_view key) const {
  QV_ASSIGN_OR_RETURN(auto value, OptionalString(key));
  if (!value) return Invalid(std::string(key) + " is missing");
  return std::move(*value);
}

Result<std::optional<bool>> JsonBody::OptionalBool(std::string_view key) const {
  auto value = Get(key);
  if (!value) return std::optional<bool>();
  bool b;
  if (value->get_bool().get(b) != simdjson::SUCCESS) {
    return Invalid(std::string(key) + " must be a boolean, not " + JsonTypeName(value->type()));
  }
  return std::optional<bool>(b);
}

Result<std::optional<int64_t>> JsonBody::OptionalInt(std::string_view key) const {
  auto value = Get(key);
  if (!value) return std::optional<int64_t>();
  QV_ASSIGN_OR_RETURN(int64_t v, JsonInteger(*value, std::string(key)));
  return std::optional<int64_t>(v);
}

Result<std::optional<std::vector<std::string>>> JsonBody::OptionalStringList(
    std::string_view key) const {
  auto value = Get(key);
  if (!value) return std::optional<std::vector<std::string>>();
  simdjson::dom::array array;
  if (value->get_array().get(array) != simdjson::SUCCESS) {
    return Invalid(std::string(key) + " must be an array of strings");
  }
  std::vector<std::string> out;
  for (element item : array) {
    std::string_view s;
    if (item.get_string().get(s) != simdjson::SUCCESS) {
      return Invalid(std::string(key) + " must be an array of strings");
    }
    out.emplace_back(s);
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::vector<float>> DecodeVector(element value, std::string_view what) {
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) {
    return Invalid(std::string(what) + " must be an array of numbers, not " +
                   JsonTypeName(value.type()));
  }
  std::vector<float> out;
  out.reserve(array.size());
  for (element item : array) {
    double d;
    if (item.get_double().get(d) != simdjson::SUCCESS) {
      return Invalid(std::string(what) + " must hold only numbers");
    }
    const float f = static_cast<float>(d);
    if (!std::isfinite(f)) {
      return Invalid(std::string(what) + " holds a value outside the float range");
    }
    out.push_back(f);
  }
  return out;
}

Result<SparseVector> DecodeSparse(element value, std::string_view what) {
  const std::string where(what);
  simdjson::dom::object obj;
  if (value.get_object().get(obj) != simdjson::SUCCESS) {
    return Invalid(where + " must be a sparse vector {\"indices\": [...], \"values\": [...]}");
  }
  element indices_json, values_json;
  if (obj["indices"].get(indices_json) != simdjson::SUCCESS)
    return Invalid(where + ".indices is missing");
  if (obj["values"].get(values_json) != simdjson::SUCCESS)
    return Invalid(where + ".values is missing");
  if (obj.size() != 2) return Invalid(where + " may hold only indices and values");
  QV_ASSIGN_OR_RETURN(std::vector<float> values, DecodeVector(values_json, where + ".values"));
  simdjson::dom::array indices_array;
  if (indices_json.get_array().get(indices_array) != simdjson::SUCCESS) {
    return Invalid(where + ".indices must be an array of integers");
  }
  std::vector<std::pair<uint32_t, float>> entries;
  size_t i = 0;
  for (element item : indices_array) {
    int64_t index;
    if (item.get_int64().get(index) != simdjson::SUCCESS || index < 0 || index > UINT32_MAX) {
      return Invalid(where + ".indices must hold integers from 0 to 4294967295");
    }
    if (i >= values.size()) break;
    entries.emplace_back(static_cast<uint32_t>(index), values[i++]);
  }
  if (indices_array.size() != values.size()) {
    return Invalid(where + ": indices and values have different lengths (" +
                   std::to_string(indices_array.size()) + " and " + std::to_string(values.size()) +
                   ")");
  }
  std::sort(entries.begin(), entries.end());
  SparseVector out;
  for (const auto& [index, v] : entries) {
    if (!out.indices.empty() && out.indices.back() == index) {
      return Invalid(where + ": index " + std::to_string(index) + " appears twice");
    }
    out.indices.push_back(index);
    out.values.push_back(v);
  }
  return out;
}

}  // namespace quiver
