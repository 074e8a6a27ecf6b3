#pragma once

// The FileSystem port: every byte the engine reads or writes goes through it,
// so tests can substitute a fault-injecting implementation.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace quiver {

// An append-only file. Not thread-safe: one owner appends and syncs.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  // Makes everything appended so far durable (fdatasync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  virtual uint64_t Size() const = 0;
};

// A read-only memory mapping of a whole file, valid until destroyed.
class MappedFile {
 public:
  virtual ~MappedFile() = default;
  virtual std::string_view data() const = 0;
};

// Holds an exclusive advisory lock until destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

// Implementations are thread-safe.
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Opens for appending; creates the file when missing. `truncate` empties it.
  virtual Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path,
                                                             bool truncate) = 0;
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status RemoveAll(const std::string& path) = 0;
  // Creates the directory and its parents; fsyncs each parent it changed.
  virtual Status CreateDirs(const std::string& path) = 0;
  virtual Status SyncDir(const std::string& path) = 0;
  virtual Result<bool> Exists(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual Result<std::unique_ptr<FileLock>> Lock(const std::string& path) = 0;
  virtual Result<std::unique_ptr<MappedFile>> Map(const std::string& path) = 0;

  // temp -> fsync -> rename -> fsync(dir): after success the file holds
  // `data` whatever crashes next; after a crash it holds the old or the new.
  // `crash_point` (when set) names crash points hit just before and after
  // the rename: "<crash_point>.before_rename" and "<crash_point>.after_rename".
  Status WriteFileAtomic(const std::string& path, std::string_view data,
                         std::string_view crash_point = {});
  // The same, with the content appended by `produce` (a large file need
  // not be in memory at once).
  // `before_rename`, when given, sees the complete, synced temporary file
  // (its path) and may refuse the rename.
  Status WriteFileAtomicFrom(
      const std::string& path, const std::function<Status(WritableFile*)>& produce,
      std::string_view crash_point = {},
      const std::function<Status(const std::string& temp)>& before_rename = {});
};

// The real file system.
std::unique_ptr<FileSystem> NewPosixFileSystem();

std::string JoinPath(std::string_view dir, std::string_view name);
std::string DirName(std::string_view path);

// A MappedFile over bytes held in memory (an index file built in a test or a
// benchmark, a fuzz input).
std::unique_ptr<MappedFile> BytesAsMappedFile(std::string data);

// The suffix of temporary files written by WriteFileAtomic; stale ones are
// removed at startup.
inline constexpr std::string_view kTempSuffix = ".tmp";

}  // namespace quiver
