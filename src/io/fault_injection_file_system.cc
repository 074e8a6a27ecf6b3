#include "io/fault_injection_file_system.h"

#include <algorithm>

namespace quiver {
namespace {

class FaultInjectionWritableFile final : public WritableFile {
 public:
  FaultInjectionWritableFile(FaultInjectionFileSystem* fs, std::string path,
                             std::unique_ptr<WritableFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    bool short_write = false;
    Status fault = fs_->BeforeOp(FsOp::kAppend, &short_write);
    if (!fault.ok()) {
      if (short_write) {
        (void)base_->Append(data.substr(0, data.size() / 2));
        fs_->OnAppended(path_, base_->Size());
      }
      return fault;
    }
    QV_RETURN_IF_ERROR(base_->Append(data));
    fs_->OnAppended(path_, base_->Size());
    return Status::OK();
  }

  Status Sync() override {
    bool unused;
    QV_RETURN_IF_ERROR(fs_->BeforeOp(FsOp::kSync, &unused));
    QV_RETURN_IF_ERROR(base_->Sync());
    fs_->OnSynced(path_, base_->Size());
    return Status::OK();
  }

  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultInjectionFileSystem* fs_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

}  // namespace

FaultInjectionFileSystem::FaultInjectionFileSystem(std::unique_ptr<FileSystem> base)
    : base_(std::move(base)) {}

void FaultInjectionFileSystem::PowerLoss() {
  MutexLock lock(&mu_);
  power_lost_ = true;
}

void FaultInjectionFileSystem::FailNth(FsOp op, int nth, Status error, bool short_write) {
  MutexLock lock(&mu_);
  faults_.push_back({op, nth, std::move(error), short_write});
}

void FaultInjectionFileSystem::ClearFaults() {
  MutexLock lock(&mu_);
  faults_.clear();
}

int FaultInjectionFileSystem::Count(FsOp op) const {
  MutexLock lock(&mu_);
  auto it = counts_.find(op);
  return it == counts_.end() ? 0 : it->second;
}

void FaultInjectionFileSystem::PowerLossAtNth(FsOp op, int nth) {
  MutexLock lock(&mu_);
  faults_.push_back({op, nth, Status::IOError("power lost (fault injection)"), false, true});
}

void FaultInjectionFileSystem::PowerLossAfter(int n) {
  MutexLock lock(&mu_);
  power_countdown_ = n;
}

Status FaultInjectionFileSystem::CheckPower() {
  if (power_countdown_ > 0 && --power_countdown_ == 0) power_lost_ = true;
  if (power_lost_) return Status::IOError("power lost (fault injection)");
  return Status::OK();
}

Status FaultInjectionFileSystem::BeforeOp(FsOp op, bool* short_write) {
  MutexLock lock(&mu_);
  QV_RETURN_IF_ERROR(CheckPower());
  ++counts_[op];
  *short_write = false;
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op == op && --it->remaining == 0) {
      Status error = it->error;
      *short_write = it->short_write;
      if (it->power_loss) power_lost_ = true;
      faults_.erase(it);
      return error;
    }
  }
  return Status::OK();
}

void FaultInjectionFileSystem::OnAppended(const std::string& path, uint64_t new_size) {
  MutexLock lock(&mu_);
  size_[path] = new_size;
}

void FaultInjectionFileSystem::OnSynced(const std::string& path, uint64_t size) {
  MutexLock lock(&mu_);
  synced_size_[path] = size;
}

// What a restart would find in `path` now: its synced prefix. Caller holds mu_.
std::string FaultInjectionFileSystem::DurableContent(const std::string& path) {
  auto data = base_->ReadFile(path);
  if (!data.ok()) return "";
  auto it = synced_size_.find(path);
  if (it != synced_size_.end() && it->second < data->size()) data->resize(it->second);
  return std::move(data).value();
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::OpenWritable(
    const std::string& path, bool truncate) {
  QV_ASSIGN_OR_RETURN(bool exists, base_->Exists(path));
  if (!exists) {
    bool unused;
    QV_RETURN_IF_ERROR(BeforeOp(FsOp::kCreate, &unused));
  } else {
    MutexLock lock(&mu_);
    QV_RETURN_IF_ERROR(CheckPower());
  }
  QV_ASSIGN_OR_RETURN(auto file, base_->OpenWritable(path, truncate));
  {
    MutexLock lock(&mu_);
    if (!exists) {
      pending_.push_back({PendingEntry::kCreated, path, ""});
      synced_size_[path] = 0;
    } else if (truncate) {
      synced_size_[path] = 0;  // the old bytes are gone; nothing new is durable yet
    } else if (!synced_size_.contains(path)) {
      synced_size_[path] = file->Size();  // existed before we watched: durable
    }
    size_[path] = file->Size();
  }
  return std::unique_ptr<WritableFile>(
      std::make_unique<FaultInjectionWritableFile>(this, path, std::move(file)));
}

Result<std::string> FaultInjectionFileSystem::ReadFile(const std::string& path) {
  return base_->ReadFile(path);
}

Status FaultInjectionFileSystem::Truncate(const std::string& path, uint64_t size) {
  {
    MutexLock lock(&mu_);
    QV_RETURN_IF_ERROR(CheckPower());
  }
  QV_RETURN_IF_ERROR(base_->Truncate(path, size));  // truncates and fsyncs
  MutexLock lock(&mu_);
  size_[path] = size;
  synced_size_[path] = size;
  return Status::OK();
}

Status FaultInjectionFileSystem::Rename(const std::string& from, const std::string& to) {
  bool unused;
  QV_RETURN_IF_ERROR(BeforeOp(FsOp::kRename, &unused));
  MutexLock lock(&mu_);
  QV_ASSIGN_OR_RETURN(bool target_exists, base_->Exists(to));
  PendingEntry target{target_exists ? PendingEntry::kReplaced : PendingEntry::kCreated, to,
                      target_exists ? DurableContent(to) : ""};
  PendingEntry source{PendingEntry::kRemoved, from, DurableContent(from)};
  QV_RETURN_IF_ERROR(base_->Rename(from, to));
  pending_.push_back(std::move(source));
  pending_.push_back(std::move(target));
  synced_size_[to] = synced_size_.contains(from) ? synced_size_[from] : size_[from];
  size_[to] = size_[from];
  synced_size_.erase(from);
  size_.erase(from);
  return Status::OK();
}

Status FaultInjectionFileSystem::RemoveFile(const std::string& path) {
  bool unused;
  QV_RETURN_IF_ERROR(BeforeOp(FsOp::kRemove, &unused));
  MutexLock lock(&mu_);
  QV_ASSIGN_OR_RETURN(bool exists, base_->Exists(path));
  if (!exists) return Status::OK();
  PendingEntry removed{PendingEntry::kRemoved, path, DurableContent(path)};
  QV_RETURN_IF_ERROR(base_->RemoveFile(path));
  pending_.push_back(std::move(removed));
  synced_size_.erase(path);
  size_.erase(path);
  return Status::OK();
}

Status FaultInjectionFileSystem::RemoveAll(const std::string& path) {
  MutexLock lock(&mu_);
  QV_RETURN_IF_ERROR(CheckPower());
  QV_RETURN_IF_ERROR(base_->RemoveAll(path));  // syncs the parent: durable at once
  const std::string prefix = path + "/";
  auto under = [&](const std::string& p) { return p == path || p.starts_with(prefix); };
  std::erase_if(pending_, [&](const PendingEntry& e) { return under(e.path); });
  std::erase_if(synced_size_, [&](const auto& kv) { return under(kv.first); });
  std::erase_if(size_, [&](const auto& kv) { return under(kv.first); });
  return Status::OK();
}

Status FaultInjectionFileSystem::CreateDirs(const std::string& path) {
  {
    MutexLock lock(&mu_);
    QV_RETURN_IF_ERROR(CheckPower());
  }
  return base_->CreateDirs(path);  // syncs each parent it changes
}

Status FaultInjectionFileSystem::SyncDir(const std::string& path) {
  bool unused;
  QV_RETURN_IF_ERROR(BeforeOp(FsOp::kSyncDir, &unused));
  QV_RETURN_IF_ERROR(base_->SyncDir(path));
  MutexLock lock(&mu_);
  std::erase_if(pending_, [&](const PendingEntry& e) { return DirName(e.path) == path; });
  return Status::OK();
}

Result<bool> FaultInjectionFileSystem::Exists(const std::string& path) {
  return base_->Exists(path);
}

Result<std::vector<std::string>> FaultInjectionFileSystem::ListDir(const std::string& path) {
  return base_->ListDir(path);
}

Result<std::unique_ptr<FileLock>> FaultInjectionFileSystem::Lock(const std::string& path) {
  return base_->Lock(path);
}

Result<std::unique_ptr<MappedFile>> FaultInjectionFileSystem::Map(const std::string& path) {
  return base_->Map(path);
}

Status FaultInjectionFileSystem::DropUnsyncedData() {
  MutexLock lock(&mu_);
  for (const auto& [path, size] : size_) {
    auto synced = synced_size_.find(path);
    const uint64_t keep = synced == synced_size_.end() ? 0 : synced->second;
    if (size > keep) QV_RETURN_IF_ERROR(base_->Truncate(path, keep));
  }
  auto write = [&](const std::string& path, const std::string& content) -> Status {
    QV_ASSIGN_OR_RETURN(auto file, base_->OpenWritable(path, /*truncate=*/true));
    QV_RETURN_IF_ERROR(file->Append(content));
    QV_RETURN_IF_ERROR(file->Sync());
    return file->Close();
  };
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    switch (it->kind) {
      case PendingEntry::kCreated:
        QV_RETURN_IF_ERROR(base_->RemoveFile(it->path));
        break;
      case PendingEntry::kRemoved:
      case PendingEntry::kReplaced:
        QV_RETURN_IF_ERROR(write(it->path, it->durable_content));
        break;
    }
  }
  pending_.clear();
  size_.clear();
  synced_size_.clear();
  power_lost_ = false;
  power_countdown_ = 0;
  return Status::OK();
}

}  // namespace quiver
