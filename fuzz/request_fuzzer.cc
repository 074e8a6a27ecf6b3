// Fuzzes JSON request decoding: any body must decode or be refused with a
// 4xx-kind error (invalid argument, payload too large), for every request
// type, against a schema with every column kind.

#include <cstddef>
#include <cstdint>

#include "fuzz_fixture.h"
#include "server/json_request.h"

using namespace quiver;

namespace {

void Expect4xx(const Status& status) {
  if (status.ok()) return;
  if (status.code() != StatusCode::kInvalidArgument &&
      status.code() != StatusCode::kPayloadTooLarge) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const TableSchema schema = fuzz::EveryKindSchema();
  auto body = JsonBody::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!body.ok()) {
    Expect4xx(body.status());
    return 0;
  }
  Expect4xx(DecodeTableSchema(*body).status());
  Expect4xx(DecodeSearchRequest(*body).status());
  Expect4xx(DecodeGetRequest(*body).status());
  Expect4xx(DecodeHybridRequest(*body).status());
  if (auto records = body->Get("data")) {
    auto batch = DecodeRecords(schema, *records);
    Expect4xx(batch.status());
    if (batch.ok()) Expect4xx(ValidateBatch(schema, *batch));
  }
  if (auto keys = body->Get("primaryKeys")) Expect4xx(DecodeKeys(*keys).status());
  return 0;
}
