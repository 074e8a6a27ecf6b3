#include "wal/local_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/crash_point.h"
#include "common/log.h"
#include "wal/wal_format.h"

namespace quiver {

struct LocalLog::Writer {
  bool rotate = false;  // a Rotate() token, not a record
  RecordType type = RecordType::kInsert;
  std::string_view payload;
  bool done = false;
  Lsn lsn = 0;
  Status status;
  CondVar cv;  // with LocalLog::mu_
};

namespace {

// True when some intact frame with an LSN above `after_lsn` starts anywhere
// in data[from, end): the damage before it is then not a torn tail.
bool IntactFrameFollows(std::string_view data, size_t from, Lsn after_lsn) {
  for (size_t p = from; p + wal::kFrameHeaderSize <= data.size(); ++p) {
    LogRecord record;
    size_t size;
    if (wal::DecodeFrame(data.substr(p), &record, &size) == wal::FrameStatus::kOk &&
        record.lsn > after_lsn) {
      return true;
    }
  }
  return false;
}

}  // namespace

LocalLog::LocalLog(FileSystem* fs, std::string dir, LocalLogOptions options)
    : fs_(fs), dir_(std::move(dir)), options_(options) {}

LocalLog::~LocalLog() {
  if (file_) (void)file_->Close();
}

Result<std::unique_ptr<LocalLog>> LocalLog::Open(FileSystem* fs, std::string dir,
                                                 LocalLogOptions options, Lsn checkpoint,
                                                 const ReplayFn& replay) {
  QV_RETURN_IF_ERROR(fs->CreateDirs(dir));
  std::unique_ptr<LocalLog> log(new LocalLog(fs, std::move(dir), options));
  QV_ASSIGN_OR_RETURN(log->dir_lock_, fs->Lock(JoinPath(log->dir_, "LOCK")));
  QV_RETURN_IF_ERROR(log->Recover(checkpoint, replay));
  return log;
}

Status LocalLog::Recover(Lsn checkpoint, const ReplayFn& replay) {
  QV_ASSIGN_OR_RETURN(auto names, fs_->ListDir(dir_));
  std::vector<std::string> files;
  Lsn first_lsn = 0;
  for (const auto& name : names) {
    Lsn first;
    if (!wal::ParseFileName(name, &first)) continue;
    if (files.empty()) first_lsn = first;
    files.push_back(name);
  }
  if (!files.empty() && first_lsn > checkpoint + 1) {
    return Status::Corruption("WAL " + dir_ + ": records " + std::to_string(checkpoint + 1) +
                              " to " + std::to_string(first_lsn - 1) + " are missing (checkpoint " +
                              std::to_string(checkpoint) + ")");
  }
  Lsn last_lsn = files.empty() ? 0 : first_lsn - 1;
  std::string last_file;
  for (size_t i = 0; i < files.size(); ++i) {
    const bool is_last = i + 1 == files.size();
    const std::string path = JoinPath(dir_, files[i]);
    QV_ASSIGN_OR_RETURN(std::string data, fs_->ReadFile(path));
    std::string_view view(data);
    if (view.substr(0, wal::kFileMagic.size()) != wal::kFileMagic) {
      const bool torn_header =
          view.size() < wal::kFileMagic.size() && wal::kFileMagic.substr(0, view.size()) == view;
      if (!is_last || !(torn_header || !IntactFrameFollows(view, 0, last_lsn))) {
        return Status::Corruption("WAL file " + path + " at offset 0: bad file header");
      }
      log::Get("wal").warn("wal: {} has a torn header; removing the empty file", path);
      QV_RETURN_IF_ERROR(fs_->RemoveFile(path));
      QV_RETURN_IF_ERROR(fs_->SyncDir(dir_));
      continue;
    }
    size_t offset = wal::kFileMagic.size();
    while (offset < view.size()) {
      LogRecord record;
      size_t size = 0;
      const auto frame = wal::DecodeFrame(view.substr(offset), &record, &size);
      if (frame == wal::FrameStatus::kOk) {
        if (record.lsn != last_lsn + 1) {
          return Status::Corruption("WAL file " + path + " at offset " + std::to_string(offset) +
                                    ": LSN " + std::to_string(record.lsn) + " follows LSN " +
                                    std::to_string(last_lsn));
        }
        QV_RETURN_IF_ERROR(replay(record).WithContext("replaying WAL file " + path + " at offset " +
                                                      std::to_string(offset)));
        last_lsn = record.lsn;
        offset += size;
        continue;
      }
      if (!is_last || IntactFrameFollows(view, offset + 1, last_lsn)) {
        return Status::Corruption("WAL file " + path + " at offset " + std::to_string(offset) +
                                  ": damaged record followed by valid records; refusing to start");
      }
      log::Get("wal").warn("wal: truncating torn tail of {} at offset {} ({} bytes dropped)", path,
                           offset, view.size() - offset);
      QV_RETURN_IF_ERROR(fs_->Truncate(path, offset));
      break;
    }
    last_file = path;
  }
  last_lsn = std::max(last_lsn, checkpoint);
  {
    MutexLock lock(&mu_);  // nothing else runs yet; this satisfies the analysis
    next_lsn_ = last_lsn + 1;
    durable_lsn_ = last_lsn;
  }
  if (last_file.empty()) return OpenNextFile(last_lsn + 1);
  QV_ASSIGN_OR_RETURN(file_, fs_->OpenWritable(last_file, /*truncate=*/false));
  file_path_ = last_file;
  return Status::OK();
}

Status LocalLog::OpenNextFile(Lsn first_lsn) {
  const std::string path = JoinPath(dir_, wal::FileName(first_lsn));
  auto created = [&]() -> Result<std::unique_ptr<WritableFile>> {
    QV_ASSIGN_OR_RETURN(auto file, fs_->OpenWritable(path, /*truncate=*/true));
    QV_RETURN_IF_ERROR(file->Append(wal::kFileMagic));
    QV_RETURN_IF_ERROR(file->Sync());
    QV_RETURN_IF_ERROR(fs_->SyncDir(dir_));
    return file;
  }();
  if (!created.ok()) return created.status();
  if (file_) (void)file_->Close();  // every byte in it is synced already
  file_ = std::move(created).value();
  file_path_ = path;
  return Status::OK();
}

LocalLog::BatchResult LocalLog::WriteBatch(const std::string& frames, Lsn first_lsn,
                                           bool new_file) {
  if (new_file || file_->Size() >= options_.max_file_bytes) {
    BatchResult rotated = SwitchFile(first_lsn);
    if (!rotated.status.ok()) return rotated;
  }
  const uint64_t before = file_->Size();
  if (Status appended = file_->Append(frames); !appended.ok()) {
    // Nothing of the batch was acknowledged: cut it off and stay usable.
    Status undone = fs_->Truncate(file_path_, before);
    if (undone.ok()) {
      auto reopened = fs_->OpenWritable(file_path_, /*truncate=*/false);
      undone = reopened.status();
      if (reopened.ok()) file_ = std::move(reopened).value();
    }
    return {appended, !undone.ok()};
  }
  CrashPoint("wal.after_append");
  if (Status synced = file_->Sync(); !synced.ok()) return {synced, true};
  CrashPoint("wal.after_sync");
  syncs_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(frames.size(), std::memory_order_relaxed);
  return {Status::OK(), false};
}

LocalLog::BatchResult LocalLog::SwitchFile(Lsn first_lsn) {
  Status opened = OpenNextFile(first_lsn);
  if (opened.ok()) return {};
  // A half-made file would claim LSN first_lsn; without it the log is intact.
  Status removed = fs_->RemoveFile(JoinPath(dir_, wal::FileName(first_lsn)));
  if (removed.ok()) removed = fs_->SyncDir(dir_);
  return {opened, !removed.ok()};
}

Status LocalLog::Rotate() {
  Writer self;
  self.rotate = true;
  MutexLock lock(&mu_);
  if (!poisoned_.ok()) return poisoned_;
  queue_.push_back(&self);
  while (!self.done && queue_.front() != &self) self.cv.Wait(&mu_);
  if (self.done) return self.status;  // failed by a leader whose sync poisoned the log
  // Leading: every earlier record is written and no one else touches file_.
  const bool requested = new_file_requested_;
  const Lsn first_lsn = next_lsn_;
  lock.Unlock();
  BatchResult result = requested ? SwitchFile(first_lsn) : BatchResult{};
  lock.Lock();
  if (result.status.ok() && requested) new_file_requested_ = false;
  if (result.poison) {
    poisoned_ = Status::Unavailable("the write-ahead log failed and accepts no more writes: " +
                                    result.status.message());
  }
  queue_.pop_front();
  if (!queue_.empty()) queue_.front()->cv.Signal();
  return result.status;
}

void LocalLog::StartNewFile() {
  MutexLock lock(&mu_);
  new_file_requested_ = true;
}

Status LocalLog::TrimTo(Lsn checkpoint) {
  QV_ASSIGN_OR_RETURN(auto names, fs_->ListDir(dir_));
  std::vector<std::pair<Lsn, std::string>> files;
  for (const auto& name : names) {
    Lsn first;
    if (wal::ParseFileName(name, &first)) files.emplace_back(first, name);
  }
  bool removed = false;
  // File i holds LSNs [first_i, first_{i+1}); the last file is never removed.
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    if (files[i + 1].first > checkpoint + 1) break;
    CrashPoint("wal.before_trim");
    QV_RETURN_IF_ERROR(fs_->RemoveFile(JoinPath(dir_, files[i].second)));
    removed = true;
  }
  return removed ? fs_->SyncDir(dir_) : Status::OK();
}

Result<Lsn> LocalLog::Append(RecordType type, std::string_view payload,
                             std::string_view /*request_id*/, std::chrono::milliseconds /*wait*/) {
  if (payload.size() > wal::kMaxPayloadSize) {
    return Status::PayloadTooLarge("log record of " + std::to_string(payload.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(wal::kMaxPayloadSize));
  }
  Writer self;
  self.type = type;
  self.payload = payload;

  MutexLock lock(&mu_);
  if (!poisoned_.ok()) return poisoned_;
  queue_.push_back(&self);
  while (!self.done && queue_.front() != &self) self.cv.Wait(&mu_);
  if (self.done) {
    if (!self.status.ok()) return self.status;
    return self.lsn;
  }

  // This writer leads: take the queued records up to the next Rotate() token.
  size_t batch_size = 0;
  while (batch_size < queue_.size() && !queue_[batch_size]->rotate) ++batch_size;
  std::string frames;
  const Lsn first_lsn = next_lsn_;
  const bool new_file = std::exchange(new_file_requested_, false);
  for (size_t i = 0; i < batch_size; ++i) {
    Writer* w = queue_[i];
    w->lsn = next_lsn_++;
  }
  std::vector<Writer*> batch(queue_.begin(), queue_.begin() + static_cast<long>(batch_size));
  lock.Unlock();

  for (Writer* w : batch) wal::AppendFrame(&frames, w->lsn, w->type, w->payload);
  const BatchResult written = WriteBatch(frames, first_lsn, new_file);
  const Status& status = written.status;

  lock.Lock();
  if (status.ok()) {
    durable_lsn_ = batch.back()->lsn;
    durable_cv_.SignalAll();
  } else if (written.poison) {
    log::Get("wal").error("wal: {} failed; the log is poisoned and accepts no more writes: {}",
                          dir_, status.ToString());
    poisoned_ = Status::Unavailable("the write-ahead log failed and accepts no more writes: " +
                                    status.message());
  } else {
    // Refused whole (e.g. the disk is full): the LSNs are handed back.
    log::Get("wal").warn("wal: {}: a batch of {} records was refused: {}", dir_, batch.size(),
                         status.ToString());
    next_lsn_ = first_lsn;
    new_file_requested_ = new_file_requested_ || new_file;
  }
  for (Writer* w : batch) {
    queue_.pop_front();
    w->status = status.ok() ? Status::OK() : (written.poison ? poisoned_ : status);
    w->done = true;
    if (w != &self) w->cv.Signal();
  }
  // Fail whoever queued behind a poisoned batch; otherwise hand over leadership.
  if (!poisoned_.ok()) {
    while (!queue_.empty()) {
      Writer* w = queue_.front();
      queue_.pop_front();
      w->status = poisoned_;
      w->done = true;
      w->cv.Signal();
    }
  } else if (!queue_.empty()) {
    queue_.front()->cv.Signal();
  }
  if (!self.status.ok()) return self.status;
  return self.lsn;
}

bool LocalLog::WaitDurable(Lsn lsn, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&mu_);
  while (durable_lsn_ < lsn) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return false;
    durable_cv_.WaitFor(&mu_, left);
  }
  return true;
}

Status LocalLog::TrimBefore(Lsn lsn) {
  // Without a successor file the current one could not be removed.
  if (Status rotated = Rotate(); !rotated.ok()) {
    log::Get("wal").warn("wal: {}: could not start a new file: {}", dir_, rotated.ToString());
  }
  return TrimTo(lsn == 0 ? 0 : lsn - 1);
}

namespace {

// Reads the WAL files of a directory in LSN order: each file whole when it
// is reached, its records handed out up to the log's durable LSN.
class LocalLogReader final : public LogReader {
 public:
  LocalLogReader(const LocalLog* log, FileSystem* fs, std::string dir, Lsn next)
      : log_(log), fs_(fs), dir_(std::move(dir)), next_(next) {}

  Result<std::optional<LogRecord>> Next(std::chrono::milliseconds wait) override {
    if (wait.count() > 0) log_->WaitDurable(next_, wait);
    const Lsn durable = log_->LastLsn();
    int loads = 0;  // file loads that did not reach the record
    while (next_ <= durable) {
      // Only records that were durable when the bytes were read are decoded:
      // the tail after them may be a batch still being written, or one the
      // disk refused whose LSNs go to the next batch.
      if (next_ <= loaded_durable_ && offset_ < data_.size()) {
        LogRecord record;
        size_t size = 0;
        const auto frame =
            wal::DecodeFrame(std::string_view(data_).substr(offset_), &record, &size);
        if (frame != wal::FrameStatus::kOk) {
          return Status::Corruption("WAL file " + path_ + " at offset " + std::to_string(offset_) +
                                    ": damaged record");
        }
        if (record.lsn > next_) {
          return Status::Corruption("WAL file " + path_ + ": LSN " + std::to_string(record.lsn) +
                                    " where " + std::to_string(next_) + " was expected");
        }
        offset_ += size;
        if (record.lsn < next_) continue;  // before the start
        ++next_;
        return std::optional<LogRecord>(record);
      }
      if (++loads > 2) {
        return Status::Corruption("WAL " + dir_ + ": record " + std::to_string(next_) +
                                  " is durable but in no file");
      }
      QV_RETURN_IF_ERROR(LoadFileHolding(next_));
    }
    return std::optional<LogRecord>();
  }

 private:
  // Loads the file whose records include `lsn` (the last one starting at or
  // below it), noting the durable LSN first: every record up to it is whole
  // in the bytes read. The file being written is read again from where this
  // reader stopped (the bytes before never change).
  Status LoadFileHolding(Lsn lsn) {
    loaded_durable_ = log_->LastLsn();
    QV_ASSIGN_OR_RETURN(auto names, fs_->ListDir(dir_));
    std::string best;
    Lsn best_first = 0;
    for (const auto& name : names) {
      Lsn first;
      if (wal::ParseFileName(name, &first) && first <= lsn && first >= best_first) {
        best = name;
        best_first = first;
      }
    }
    if (best.empty()) {
      return Status::NotFound("WAL " + dir_ + ": record " + std::to_string(lsn) +
                              " was trimmed; read from a checkpoint");
    }
    const std::string path = JoinPath(dir_, best);
    QV_ASSIGN_OR_RETURN(data_, fs_->ReadFile(path));
    if (std::string_view(data_).substr(0, wal::kFileMagic.size()) != wal::kFileMagic)
      return Status::Corruption("WAL file " + path + " at offset 0: bad file header");
    if (path != path_) offset_ = wal::kFileMagic.size();
    path_ = path;
    return Status::OK();
  }

  const LocalLog* log_;
  FileSystem* fs_;
  const std::string dir_;
  Lsn next_;
  std::string path_, data_;
  size_t offset_ = 0;
  Lsn loaded_durable_ = 0;  // the log's durable LSN when data_ was read
};

}  // namespace

Result<std::unique_ptr<LogReader>> LocalLog::ReadFrom(Lsn lsn) const {
  if (lsn == 0) lsn = 1;
  return std::unique_ptr<LogReader>(std::make_unique<LocalLogReader>(this, fs_, dir_, lsn));
}

Lsn LocalLog::LastLsn() const {
  MutexLock lock(&mu_);
  return durable_lsn_;
}

Status LocalLog::Health() const {
  MutexLock lock(&mu_);
  return poisoned_;
}

}  // namespace quiver
