#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "io/file_system.h"

namespace quiver::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  // `in_memory` puts it on /dev/shm when there is one, where fsync is free.
  explicit TempDir(bool in_memory = false) {
    std::random_device rd;
    std::filesystem::path base = std::filesystem::temp_directory_path();
    if (in_memory && std::filesystem::is_directory("/dev/shm")) base = "/dev/shm";
    path_ = base / ("quiver-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Forwards every call to a FileSystem it does not own.
class ForwardingFileSystem : public FileSystem {
 public:
  explicit ForwardingFileSystem(FileSystem* base) : base_(base) {}

  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& p, bool t) override {
    return base_->OpenWritable(p, t);
  }
  Result<std::string> ReadFile(const std::string& p) override { return base_->ReadFile(p); }
  Status Truncate(const std::string& p, uint64_t s) override { return base_->Truncate(p, s); }
  Status Rename(const std::string& a, const std::string& b) override { return base_->Rename(a, b); }
  Status RemoveFile(const std::string& p) override { return base_->RemoveFile(p); }
  Status RemoveAll(const std::string& p) override { return base_->RemoveAll(p); }
  Status CreateDirs(const std::string& p) override { return base_->CreateDirs(p); }
  Status SyncDir(const std::string& p) override { return base_->SyncDir(p); }
  Result<bool> Exists(const std::string& p) override { return base_->Exists(p); }
  Result<std::vector<std::string>> ListDir(const std::string& p) override {
    return base_->ListDir(p);
  }
  Result<std::unique_ptr<FileLock>> Lock(const std::string& p) override { return base_->Lock(p); }
  Result<std::unique_ptr<MappedFile>> Map(const std::string& p) override { return base_->Map(p); }

 private:
  FileSystem* base_;
};

// The POSIX file system, but every Sync fails once `fail_syncs` is set.
class SyncFailingFileSystem final : public ForwardingFileSystem {
 public:
  SyncFailingFileSystem() : ForwardingFileSystem(SharedPosix()) {}
  std::atomic<bool> fail_syncs{false};

  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path,
                                                     bool truncate) override {
    QV_ASSIGN_OR_RETURN(auto file, ForwardingFileSystem::OpenWritable(path, truncate));
    return std::unique_ptr<WritableFile>(std::make_unique<File>(std::move(file), &fail_syncs));
  }

 private:
  class File final : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> base, std::atomic<bool>* fail)
        : base_(std::move(base)), fail_(fail) {}
    Status Append(std::string_view d) override { return base_->Append(d); }
    Status Sync() override {
      if (*fail_) return Status::IOError("injected fdatasync failure");
      return base_->Sync();
    }
    Status Close() override { return base_->Close(); }
    uint64_t Size() const override { return base_->Size(); }

   private:
    std::unique_ptr<WritableFile> base_;
    std::atomic<bool>* fail_;
  };
  // The POSIX file system is stateless: one instance serves every test.
  static FileSystem* SharedPosix() {
    static const std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
    return posix.get();
  }
};

}  // namespace quiver::testing
