#include "io/file_system.h"

#include "common/crash_point.h"

namespace quiver {

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

namespace {

class InMemoryFile final : public MappedFile {
 public:
  explicit InMemoryFile(std::string data) : data_(std::move(data)) {}
  std::string_view data() const override { return data_; }

 private:
  std::string data_;
};

}  // namespace

std::unique_ptr<MappedFile> BytesAsMappedFile(std::string data) {
  return std::make_unique<InMemoryFile>(std::move(data));
}

std::string DirName(std::string_view path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

Status FileSystem::WriteFileAtomic(const std::string& path, std::string_view data,
                                   std::string_view crash_point) {
  return WriteFileAtomicFrom(
      path, [data](WritableFile* file) { return file->Append(data); }, crash_point);
}

Status FileSystem::WriteFileAtomicFrom(
    const std::string& path, const std::function<Status(WritableFile*)>& produce,
    std::string_view crash_point, const std::function<Status(const std::string&)>& before_rename) {
  const std::string temp = path + std::string(kTempSuffix);
  {
    QV_ASSIGN_OR_RETURN(auto file, OpenWritable(temp, /*truncate=*/true));
    QV_RETURN_IF_ERROR(produce(file.get()));
    QV_RETURN_IF_ERROR(file->Sync());
    QV_RETURN_IF_ERROR(file->Close());
  }
  if (before_rename) QV_RETURN_IF_ERROR(before_rename(temp));
  if (!crash_point.empty()) CrashPoint(std::string(crash_point) + ".before_rename");
  QV_RETURN_IF_ERROR(Rename(temp, path));
  QV_RETURN_IF_ERROR(SyncDir(DirName(path)));
  if (!crash_point.empty()) CrashPoint(std::string(crash_point) + ".after_rename");
  return Status::OK();
}

}  // namespace quiver
