#include <algorithm>
#include <functional>

#include "io/object_store.h"

namespace quiver {
namespace {

bool IsKeyChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

class LocalObjectStore final : public ObjectStore {
 public:
  LocalObjectStore(FileSystem* fs, std::string root) : fs_(fs), root_(std::move(root)) {}

  Status Put(std::string_view key, std::string_view data) override {
    QV_RETURN_IF_ERROR(ValidateObjectKey(key));
    const std::string path = JoinPath(root_, key);
    QV_RETURN_IF_ERROR(fs_->CreateDirs(DirName(path)));
    return fs_->WriteFileAtomic(path, data);
  }

  Result<std::string> Get(std::string_view key) override {
    QV_RETURN_IF_ERROR(ValidateObjectKey(key));
    const std::string path = JoinPath(root_, key);
    auto data = fs_->ReadFile(path);
    if (!data.ok()) return NotAnObject(key, path, data.status());
    return data;
  }

  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override {
    QV_ASSIGN_OR_RETURN(auto mapped, MapObject(key));
    const std::string_view data = mapped->data();
    if (offset > data.size()) return ObjectRangePastEnd(key, offset, data.size());
    return std::string(data.substr(offset, length));
  }

  Result<uint64_t> Size(std::string_view key) override {
    QV_ASSIGN_OR_RETURN(auto mapped, MapObject(key));
    return static_cast<uint64_t>(mapped->data().size());
  }

  Status Delete(std::string_view key) override {
    QV_RETURN_IF_ERROR(ValidateObjectKey(key));
    const std::string path = JoinPath(root_, key);
    QV_RETURN_IF_ERROR(fs_->RemoveFile(path));
    // A key that was never put has no directory to sync.
    Status synced = fs_->SyncDir(DirName(path));
    return synced.code() == StatusCode::kNotFound ? Status::OK() : synced;
  }

  Result<std::vector<std::string>> List(std::string_view prefix) override {
    std::vector<std::string> keys;
    QV_ASSIGN_OR_RETURN(bool exists, fs_->Exists(root_));
    if (!exists) return keys;
    std::function<Status(const std::string&, const std::string&)> walk =
        [&](const std::string& dir, const std::string& key_prefix) -> Status {
      QV_ASSIGN_OR_RETURN(auto names, fs_->ListDir(dir));
      for (const auto& name : names) {
        if (name.ends_with(kTempSuffix)) continue;
        const std::string key = key_prefix.empty() ? name : key_prefix + "/" + name;
        const std::string path = JoinPath(dir, name);
        auto children = fs_->ListDir(path);
        if (children.ok()) {
          QV_RETURN_IF_ERROR(walk(path, key));
        } else if (key.starts_with(prefix)) {
          keys.push_back(key);
        }
      }
      return Status::OK();
    };
    QV_RETURN_IF_ERROR(walk(root_, ""));
    std::sort(keys.begin(), keys.end());
    return keys;
  }

 private:
  // The object's file, mapped (a range or a size costs no read of the rest).
  Result<std::unique_ptr<MappedFile>> MapObject(std::string_view key) {
    QV_RETURN_IF_ERROR(ValidateObjectKey(key));
    const std::string path = JoinPath(root_, key);
    auto mapped = fs_->Map(path);
    if (!mapped.ok()) return NotAnObject(key, path, mapped.status());
    return mapped;
  }

  // Why reading `path` failed: kNotFound when there is no such file, or when
  // the key names a directory (a prefix of other keys, not an object).
  Status NotAnObject(std::string_view key, const std::string& path, const Status& failed) {
    if (failed.code() == StatusCode::kNotFound || fs_->ListDir(path).ok()) {
      return ObjectNotFound(key);
    }
    return failed;
  }

  FileSystem* const fs_;
  const std::string root_;
};

}  // namespace

Status ValidateObjectKey(std::string_view key) {
  if (key.empty() || key.size() > 1024) {
    return Status::InvalidArgument("object key must be 1 to 1024 characters");
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view part = key.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." ||
        !std::all_of(part.begin(), part.end(), IsKeyChar) || part.ends_with(kTempSuffix)) {
      return Status::InvalidArgument("bad object key '" + std::string(key.substr(0, 128)) + "'");
    }
    start = end + 1;
  }
  return Status::OK();
}

Status ObjectNotFound(std::string_view key) {
  return Status::NotFound("object '" + std::string(key.substr(0, 128)) + "' does not exist");
}

Status ObjectRangePastEnd(std::string_view key, uint64_t offset, uint64_t size) {
  return Status::InvalidArgument("offset " + std::to_string(offset) +
                                 " is past the end of object '" + std::string(key.substr(0, 128)) +
                                 "' (" + std::to_string(size) + " bytes)");
}

std::unique_ptr<ObjectStore> NewLocalObjectStore(FileSystem* fs, std::string root) {
  return std::make_unique<LocalObjectStore>(fs, std::move(root));
}

}  // namespace quiver
