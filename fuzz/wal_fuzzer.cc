// Fuzzes the WAL record decoder and the payload decoders behind it: any
// bytes give a frame, "incomplete" or "corrupt", never a read out of bounds;
// a decoded frame lies within the input, and its payload decodes or is
// refused as corruption.

#include <cstddef>
#include <cstdint>

#include "engine/log_payload.h"
#include "fuzz_fixture.h"
#include "wal/wal_format.h"

using namespace quiver;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const TableSchema schema = fuzz::EveryKindSchema();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Random bytes seldom pass a frame checksum, so the payload decoders also
  // get the raw input.
  if (auto insert = DecodeInsert(input, schema); insert.ok())
    (void)ValidateBatch(schema, insert->batch);
  (void)DecodeDelete(input);
  std::string_view rest = input;
  if (rest.starts_with(wal::kFileMagic)) rest.remove_prefix(wal::kFileMagic.size());
  // Every frame in turn, as recovery reads a file.
  while (!rest.empty()) {
    LogRecord record;
    size_t frame_size = 0;
    const auto status = wal::DecodeFrame(rest, &record, &frame_size);
    if (status != wal::FrameStatus::kOk) break;
    if (frame_size == 0 || frame_size > rest.size()) __builtin_trap();
    auto insert = DecodeInsert(record.payload, schema);
    if (insert.ok()) {
      (void)ValidateBatch(schema, insert->batch);
    } else if (insert.status().code() != StatusCode::kCorruption &&
               insert.status().code() != StatusCode::kInvalidArgument) {
      __builtin_trap();
    }
    (void)DecodeDelete(record.payload);
    rest.remove_prefix(frame_size);
  }
  return 0;
}
