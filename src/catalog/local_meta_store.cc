#include "catalog/meta_store.h"
#include "common/mutex.h"

namespace quiver {
namespace {

class LocalMetaStore final : public MetaStore {
 public:
  LocalMetaStore(FileSystem* fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}

  Result<std::optional<std::string>> Get(std::string_view key) override {
    MutexLock lock(&mu_);
    const std::string path = JoinPath(dir_, key);
    QV_ASSIGN_OR_RETURN(bool exists, fs_->Exists(path));
    if (!exists) return std::optional<std::string>();
    QV_ASSIGN_OR_RETURN(std::string data, fs_->ReadFile(path));
    return std::optional<std::string>(std::move(data));
  }

  Status Put(std::string_view key, std::string_view value) override {
    MutexLock lock(&mu_);
    QV_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
    return fs_->WriteFileAtomic(JoinPath(dir_, key), value);
  }

 private:
  FileSystem* const fs_;
  const std::string dir_;
  Mutex mu_;  // one file operation at a time
};

}  // namespace

std::unique_ptr<MetaStore> NewLocalMetaStore(FileSystem* fs, std::string dir) {
  return std::make_unique<LocalMetaStore>(fs, std::move(dir));
}

}  // namespace quiver
