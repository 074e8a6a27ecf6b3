#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/lsn.h"
#include "common/status.h"

namespace quiver {

// Lsn (common/lsn.h): 1, 2, 3, ... per log, with no gaps.

// What a log record holds; the payload format of each is in docs/FORMATS.md.
enum class RecordType : uint8_t {
  kInsert = 1,  // a batch of rows, with the upsert flag
  kDelete = 2,  // a list of primary keys
};

struct LogRecord {
  Lsn lsn = 0;
  RecordType type = RecordType::kInsert;
  std::string_view payload;  // valid only during the replay callback
  // The request the record came from, where the log keeps it (a stream's
  // Nats-Msg-Id); empty otherwise. Valid as long as `payload`.
  std::string_view request_id;
};

// Reads a log's records in LSN order from some LSN on. Not thread-safe (one
// reader per thread); the log may be appended to meanwhile.
class LogReader {
 public:
  virtual ~LogReader() = default;
  // The next durable record; when none has reached this reader yet, waits up
  // to `wait` for one, then answers nullopt (call again later for more). The
  // payload stays valid until the next call.
  virtual Result<std::optional<LogRecord>> Next(std::chrono::milliseconds wait) = 0;
};

// The Log port: the shard's source of truth. Standalone it is a local WAL;
// in a cluster, a replicated stream. A writer appends; every replica (the
// writer's own table included) applies what it reads back in LSN order, so
// all of them build the same state.
//
// Append is thread-safe and returns only once the record is durable; callers
// that append concurrently share one sync. A write the disk refuses (no
// space) fails that batch and leaves nothing of it behind; the log stays
// usable. After a failed sync the log is poisoned: every later Append fails
// with kUnavailable.
class Log {
 public:
  virtual ~Log() = default;
  // The new record's LSN, once it is durable.
  Result<Lsn> Append(RecordType type, std::string_view payload) {
    return Append(type, payload, {}, kNoWaitLimit);
  }
  // The same, naming the request the record comes from: a log that
  // deduplicates (a stream) stores a retried request's record once and
  // answers the retry with the first LSN. A local log ignores the id.
  Result<Lsn> Append(RecordType type, std::string_view payload, std::string_view request_id) {
    return Append(type, payload, request_id, kNoWaitLimit);
  }
  // The same, waiting at most `wait` for a remote log's acknowledgement
  // (kUnavailable after it: the record may still be stored, so retry with
  // the same request id); a local log's sync is not bounded by it.
  static constexpr std::chrono::milliseconds kNoWaitLimit = std::chrono::milliseconds::max();
  virtual Result<Lsn> Append(RecordType type, std::string_view payload, std::string_view request_id,
                             std::chrono::milliseconds wait) = 0;
  // LSN of the last durable record (0 when empty). A remote log answers
  // the last it knows when its server cannot be asked.
  virtual Lsn LastLsn() const = 0;
  // The same, asked of the log's server now: an error when it cannot be
  // (a STRONG read must not settle for a stale answer).
  virtual Result<Lsn> FetchLastLsn() const { return LastLsn(); }
  // The request id of the record at `lsn` as the log's server holds it now
  // (empty when it has none); nullopt when no record is there (trimmed, or
  // past the end). A replica compares it with the record it applied there
  // (a stream whose servers disagreed after a failure may hold another).
  // A local log does not keep request ids: kInvalidArgument.
  virtual Result<std::optional<std::string>> RequestIdAt(Lsn /*lsn*/) const {
    return Status::InvalidArgument("this log keeps no request ids");
  }
  // The error that poisoned the log, or OK.
  virtual Status Health() const = 0;
  // Every durable record from `lsn` on. kNotFound when records at `lsn` were
  // trimmed (the reader must start from a checkpoint instead).
  virtual Result<std::unique_ptr<LogReader>> ReadFrom(Lsn lsn) const = 0;
  // A checkpoint at the current last LSN is coming: records appended from
  // now on should be stored apart from those before, so that TrimBefore can
  // drop all of those (a local log starts a new file; a stream ignores it).
  virtual void RollOver() {}
  // Records below `lsn` are covered by a checkpoint; the log may drop them.
  virtual Status TrimBefore(Lsn lsn) = 0;
  // Batches made durable and their bytes since the log was opened (metrics).
  virtual uint64_t syncs() const { return 0; }
  virtual uint64_t bytes_written() const { return 0; }
};

}  // namespace quiver
