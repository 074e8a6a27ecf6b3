#include "server/json_body.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

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

}  // namespace

Status InvalidRequest(std::string message) {
  return Status::InvalidArgument(std::move(message));
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
  if (error != simdjson::SUCCESS) {
    return Invalid(std::string("request body is not valid JSON: ") +
                   simdjson::error_message(error));
  }
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
