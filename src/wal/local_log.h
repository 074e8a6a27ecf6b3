#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "io/file_system.h"
#include "wal/log.h"

namespace quiver {

struct LocalLogOptions {
  // A new file is started once the current one reaches this size.
  uint64_t max_file_bytes = 64ull << 20;
};

// The standalone Log: a directory of CRC-framed files (docs/FORMATS.md).
//
// Group commit: appenders queue up; the first in the queue becomes the
// leader, writes every queued record with one write and one fdatasync, then
// wakes the rest with their results. Thread-safe.
class LocalLog final : public Log {
 public:
  using ReplayFn = std::function<Status(const LogRecord&)>;

  // Opens (creating when missing) the log in `dir`, feeding every valid
  // record to `replay` in LSN order first. A torn tail of the last file is
  // truncated with a log line; a damaged record followed by valid ones is a
  // kCorruption naming the file and offset, and nothing is changed. While
  // open, the directory is locked: a second Open fails with kUnavailable.
  static Result<std::unique_ptr<LocalLog>> Open(FileSystem* fs, std::string dir,
                                                LocalLogOptions options, const ReplayFn& replay);

  ~LocalLog() override;

  Result<Lsn> Append(RecordType type, std::string_view payload) override;
  Lsn LastLsn() const override;
  Status Health() const override;

 private:
  struct Writer;

  LocalLog(FileSystem* fs, std::string dir, LocalLogOptions options);
  Status Recover(const ReplayFn& replay);
  Status OpenNextFile(Lsn first_lsn);
  // Writes and syncs one batch; called by the leader without the lock held.
  Status WriteBatch(const std::string& frames, Lsn first_lsn);

  FileSystem* const fs_;
  const std::string dir_;
  const LocalLogOptions options_;

  mutable std::mutex mu_;
  std::deque<Writer*> queue_;           // guarded by mu_; front is the leader
  Lsn next_lsn_ = 1;                    // guarded by mu_
  Lsn durable_lsn_ = 0;                 // guarded by mu_
  Status poisoned_;                     // guarded by mu_
  std::unique_ptr<FileLock> dir_lock_;  // one LocalLog per directory, even within a process
  std::unique_ptr<WritableFile> file_;  // used only by the current leader
};

}  // namespace quiver
