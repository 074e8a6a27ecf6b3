#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace quiver {

// Log sequence number: 1, 2, 3, ... per log, with no gaps.
using Lsn = uint64_t;

// What a log record holds; the payload format of each is in docs/FORMATS.md.
enum class RecordType : uint8_t {
  kInsert = 1,  // a batch of rows, with the upsert flag
  kDelete = 2,  // a list of primary keys
};

struct LogRecord {
  Lsn lsn = 0;
  RecordType type = RecordType::kInsert;
  std::string_view payload;  // valid only during the replay callback
};

// The Log port: the shard's source of truth. Standalone it is a local WAL;
// in a cluster, a replicated stream.
//
// Append is thread-safe and returns only once the record is durable; callers
// that append concurrently share one sync. A write the disk refuses (no
// space) fails that batch and leaves nothing of it behind; the log stays
// usable. After a failed sync the log is poisoned: every later Append fails
// with kUnavailable.
class Log {
 public:
  virtual ~Log() = default;
  virtual Result<Lsn> Append(RecordType type, std::string_view payload) = 0;
  // LSN of the last durable record (0 when empty).
  virtual Lsn LastLsn() const = 0;
  // The error that poisoned the log, or OK.
  virtual Status Health() const = 0;
};

}  // namespace quiver
