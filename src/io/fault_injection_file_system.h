#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "io/file_system.h"

namespace quiver {

// Operations a fault can be injected into.
enum class FsOp { kAppend, kSync, kRename, kSyncDir, kCreate, kRemove };

// A FileSystem over a real one that remembers what is durable, for tests:
// bytes count once their file is synced, and a created, renamed or removed
// directory entry counts once its directory is synced.
//
// PowerLoss() makes every later mutation fail (the machine is off);
// DropUnsyncedData() then rewinds the real files to their durable state, as
// a restart after the power loss would find them, and turns the power back
// on. FailNth() makes the N-th operation of a kind fail with a chosen error
// (ENOSPC, EIO), optionally writing half the bytes first (a short write).
// Thread-safe.
class FaultInjectionFileSystem final : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(std::unique_ptr<FileSystem> base);

  void PowerLoss();
  // The power goes off at the n-th (1-based) mutating operation from now,
  // which fails, as does everything after it.
  void PowerLossAfter(int n);
  Status DropUnsyncedData();
  // The nth (1-based) future operation of `op` fails with `error`.
  void FailNth(FsOp op, int nth, Status error, bool short_write = false);
  // The power goes off at the nth (1-based) future operation of `op`, which
  // fails, as does everything after it (e.g. at the sync after an append).
  void PowerLossAtNth(FsOp op, int nth);
  void ClearFaults();
  int Count(FsOp op) const;

  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path,
                                                     bool truncate) override;
  Result<std::string> ReadFile(const std::string& path) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status RemoveAll(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Result<bool> Exists(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> Lock(const std::string& path) override;
  Result<std::unique_ptr<MappedFile>> Map(const std::string& path) override;

  // Used by the files this file system hands out.
  Status BeforeOp(FsOp op, bool* short_write);
  void OnAppended(const std::string& path, uint64_t new_size);
  void OnSynced(const std::string& path, uint64_t size);

 private:
  // A directory change not yet made durable, undone on power loss.
  struct PendingEntry {
    enum Kind { kCreated, kRemoved, kReplaced } kind;
    std::string path;
    std::string durable_content;  // kRemoved / kReplaced: what a restart would find
  };

  std::unique_ptr<FileSystem> base_;
  mutable Mutex mu_;
  bool power_lost_ GUARDED_BY(mu_) = false;
  int power_countdown_ GUARDED_BY(mu_) = 0;  // 0 = unarmed
  std::map<std::string, uint64_t> synced_size_ GUARDED_BY(mu_);
  std::map<std::string, uint64_t> size_ GUARDED_BY(mu_);
  std::vector<PendingEntry> pending_ GUARDED_BY(mu_);  // oldest first
  struct Fault {
    FsOp op;
    int remaining;
    Status error;
    bool short_write;
    bool power_loss = false;
  };
  std::vector<Fault> faults_ GUARDED_BY(mu_);
  std::map<FsOp, int> counts_ GUARDED_BY(mu_);

  // Fails once the power is off; counts down PowerLossAfter.
  Status CheckPower() REQUIRES(mu_);
  std::string DurableContent(const std::string& path) REQUIRES(mu_);
};

}  // namespace quiver
