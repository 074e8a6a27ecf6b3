#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "common/mutex.h"
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
  //
  // Records at or below `checkpoint` are already in the table's segments:
  // they are checked but not replayed, and the next LSN is at least
  // checkpoint + 1. Records missing between the checkpoint and the first
  // file are a kCorruption.
  static Result<std::unique_ptr<LocalLog>> Open(FileSystem* fs, std::string dir,
                                                LocalLogOptions options, Lsn checkpoint,
                                                const ReplayFn& replay);

  ~LocalLog() override;

  using Log::Append;
  Result<Lsn> Append(RecordType type, std::string_view payload, std::string_view request_id,
                     std::chrono::milliseconds wait) override;
  Lsn LastLsn() const override;
  Status Health() const override;
  // Reads the files from the one holding `lsn`, record by record, up to the
  // last durable LSN at each call.
  Result<std::unique_ptr<LogReader>> ReadFrom(Lsn lsn) const override;
  // The next batch starts a new file.
  void RollOver() override { StartNewFile(); }
  // Starts the requested new file now (so the old one can go at once), then
  // removes every file all of whose records are below `lsn`.
  Status TrimBefore(Lsn lsn) override;

  // The next batch starts a new file, so a later checkpoint can trim whole files.
  void StartNewFile();
  // Starts the requested new file now, even with no record to put in it, so
  // that TrimTo can remove the old one at once. No-op without a request.
  Status Rotate();
  // Removes every file all of whose records are at or below `checkpoint`
  // (never the file being written).
  Status TrimTo(Lsn checkpoint);

  // Waits up to `timeout` until `lsn` is durable; true if it is.
  bool WaitDurable(Lsn lsn, std::chrono::milliseconds timeout) const EXCLUDES(mu_);

  // Batches written and fdatasynced, and their bytes, since Open (metrics).
  uint64_t syncs() const override { return syncs_.load(std::memory_order_relaxed); }
  uint64_t bytes_written() const override { return bytes_.load(std::memory_order_relaxed); }

 private:
  struct Writer;

  LocalLog(FileSystem* fs, std::string dir, LocalLogOptions options);
  Status Recover(Lsn checkpoint, const ReplayFn& replay);
  Status OpenNextFile(Lsn first_lsn);
  // How a batch write ended: OK; refused with nothing of it left in the log
  // (poison false: the log stays usable); or failed in a way that may leave
  // part of it behind, such as a failed fsync (poison true).
  struct BatchResult {
    Status status;
    bool poison = false;
  };
  // Opens the file starting at first_lsn, or removes what a failed attempt left.
  BatchResult SwitchFile(Lsn first_lsn);
  // Writes and syncs one batch; called by the leader without the lock held.
  BatchResult WriteBatch(const std::string& frames, Lsn first_lsn, bool new_file);

  FileSystem* const fs_;
  const std::string dir_;
  const LocalLogOptions options_;

  mutable Mutex mu_;
  std::deque<Writer*> queue_ GUARDED_BY(mu_);  // front is the leader
  Lsn next_lsn_ GUARDED_BY(mu_) = 1;
  Lsn durable_lsn_ GUARDED_BY(mu_) = 0;
  mutable CondVar durable_cv_;  // with mu_: durable_lsn_ advanced
  Status poisoned_ GUARDED_BY(mu_);
  bool new_file_requested_ GUARDED_BY(mu_) = false;
  std::unique_ptr<FileLock> dir_lock_;  // one LocalLog per directory, even within a process
  std::unique_ptr<WritableFile> file_;  // used only by the current leader
  std::string file_path_;               // the path of file_
  std::atomic<uint64_t> syncs_{0}, bytes_{0};
};

}  // namespace quiver
