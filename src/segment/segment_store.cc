#include "segment/segment_store.h"

#include <set>

namespace quiver {

std::unique_ptr<SegmentStore> SegmentStore::Local(FileSystem* fs, std::string dir) {
  return std::unique_ptr<SegmentStore>(new SegmentStore(fs, std::move(dir), nullptr, ""));
}

std::unique_ptr<SegmentStore> SegmentStore::Remote(FileSystem* fs, std::string cache_dir,
                                                   ObjectStore* store, std::string prefix) {
  return std::unique_ptr<SegmentStore>(
      new SegmentStore(fs, std::move(cache_dir), store, std::move(prefix)));
}

std::string SegmentStore::Where(const std::string& name) const {
  return store_ == nullptr ? LocalPath(name) : "object " + Key(name);
}

Status SegmentStore::WriteLocal(const std::string& name,
                                const std::function<Status(WritableFile*)>& produce,
                                std::string_view crash_point,
                                const std::function<Status(const std::string&)>& before_rename) {
  const std::string path = LocalPath(name);
  QV_RETURN_IF_ERROR(fs_->CreateDirs(DirName(path)));
  Status written = fs_->WriteFileAtomicFrom(path, produce, crash_point, before_rename);
  if (!written.ok()) (void)fs_->RemoveFile(path + std::string(kTempSuffix));
  return written;
}

Status SegmentStore::Write(const std::string& name, std::string_view bytes,
                           std::string_view crash_point) {
  return WriteFrom(
      name, [bytes](WritableFile* out) { return out->Append(bytes); }, crash_point);
}

Status SegmentStore::WriteFrom(const std::string& name,
                               const std::function<Status(WritableFile*)>& produce,
                               std::string_view crash_point) {
  if (store_ == nullptr) return WriteLocal(name, produce, crash_point, {});
  // Remote: uploaded from the complete temporary file before it is renamed
  // into the cache, so the cache never holds what the store does not.
  return WriteLocal(name, produce, crash_point, [&](const std::string& temp) -> Status {
    QV_ASSIGN_OR_RETURN(auto mapped, fs_->Map(temp));
    Status put = store_->Put(Key(name), mapped->data());
    return put.ok() ? put : put.WithContext("uploading " + Key(name));
  });
}

Status SegmentStore::Evict(const std::string& name) {
  if (store_ == nullptr) return Status::OK();  // the only copy
  const std::string path = LocalPath(name);
  QV_ASSIGN_OR_RETURN(bool exists, fs_->Exists(path));
  return exists ? fs_->RemoveFile(path) : Status::OK();
}

Result<std::unique_ptr<MappedFile>> SegmentStore::Open(const std::string& name) {
  const std::string path = LocalPath(name);
  if (store_ != nullptr) {
    QV_ASSIGN_OR_RETURN(bool cached, fs_->Exists(path));
    if (!cached) {
      auto bytes = store_->Get(Key(name));
      if (!bytes.ok()) return bytes.status().WithContext("downloading " + Key(name));
      const std::string& data = *bytes;
      QV_RETURN_IF_ERROR(
          WriteLocal(name, [&data](WritableFile* out) { return out->Append(data); }, {}, {}));
    }
  }
  return fs_->Map(path);
}

Status SegmentStore::Remove(const std::string& name) {
  if (store_ != nullptr) QV_RETURN_IF_ERROR(store_->Delete(Key(name)));
  const std::string path = LocalPath(name);
  QV_ASSIGN_OR_RETURN(bool exists, fs_->Exists(path));
  return exists ? fs_->RemoveFile(path) : Status::OK();
}

Status SegmentStore::Quarantine(const std::string& name, const std::string& local_path) {
  const std::string path = LocalPath(name);
  QV_ASSIGN_OR_RETURN(bool exists, fs_->Exists(path));
  if (exists) {
    QV_RETURN_IF_ERROR(fs_->CreateDirs(DirName(local_path)));
    QV_RETURN_IF_ERROR(fs_->Rename(path, local_path));
    QV_RETURN_IF_ERROR(fs_->SyncDir(DirName(path)));
  }
  if (store_ != nullptr) QV_RETURN_IF_ERROR(store_->Delete(Key(name)));
  return Status::OK();
}

Result<std::vector<std::string>> SegmentStore::List(const std::string& folder) {
  if (store_ == nullptr) {
    const std::string dir = JoinPath(dir_, folder);
    QV_RETURN_IF_ERROR(fs_->CreateDirs(dir));
    return fs_->ListDir(dir);  // stale temporary files too (they are unreferenced)
  }
  const std::string prefix = Key(folder) + "/";
  QV_ASSIGN_OR_RETURN(auto keys, store_->List(prefix));
  std::set<std::string> names;
  for (const std::string& key : keys) names.insert(key.substr(prefix.size()));
  // And cache copies of objects that are gone (or never finished uploading).
  const std::string dir = JoinPath(dir_, folder);
  QV_RETURN_IF_ERROR(fs_->CreateDirs(dir));
  QV_ASSIGN_OR_RETURN(auto cached, fs_->ListDir(dir));
  names.insert(cached.begin(), cached.end());
  return std::vector<std::string>(names.begin(), names.end());
}

Status SegmentStore::Sync(const std::string& folder) {
  const std::string dir = JoinPath(dir_, folder);
  QV_ASSIGN_OR_RETURN(bool exists, fs_->Exists(dir));
  return exists ? fs_->SyncDir(dir) : Status::OK();
}

}  // namespace quiver
