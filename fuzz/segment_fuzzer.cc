// Fuzzes the sealed-segment reader: any file must open with every column
// readable, or be refused as corruption naming an offset -- never crash or
// read outside the file.

#include <cstddef>
#include <cstdint>

#include "fuzz_fixture.h"
#include "segment/sealed_segment.h"

using namespace quiver;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const TableSchema schema = fuzz::EveryKindSchema();
  fuzz::OneFileSystem fs(std::string_view(reinterpret_cast<const char*>(data), size));
  auto segment = SealedSegment::Open(&fs, "fuzz.seg", schema, 1);
  if (!segment.ok()) {
    if (segment.status().code() != StatusCode::kCorruption) __builtin_trap();
    return 0;
  }
  // Opened: every value of every row must be readable.
  const auto columns = (*segment)->columns();
  for (size_t row = 0; row < (*segment)->num_rows(); ++row) {
    for (const Column& column : columns) (void)column.GetValue(row);
    (void)(*segment)->FindKey(KeyAt(columns[0], row), (*segment)->num_rows(), kLatest);
  }
  return 0;
}
