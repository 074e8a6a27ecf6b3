#pragma once

// What the fuzz targets share: a table schema covering every column kind,
// and a FileSystem whose only file is the fuzz input (for readers that map
// a file).

#include <memory>
#include <string>
#include <string_view>

#include "io/file_system.h"
#include "schema/schema.h"

namespace quiver::fuzz {

inline TableSchema EveryKindSchema() {
  TableSchema schema{"t",
                     {{"id", DataType::kBigInt, true},
                      {"i", DataType::kInt},
                      {"d", DataType::kDouble},
                      {"s", DataType::kString},
                      {"b", DataType::kBool},
                      {"j", DataType::kJson},
                      {"v", DataType::kVectorFloat, false, 4, Metric::kEuclidean},
                      {"bits", DataType::kVectorBinary, false, 16, Metric::kHamming},
                      {"sp", DataType::kSparseVectorFloat, false, 0, Metric::kDotProduct}}};
  (void)ValidateAndNormalize(&schema);
  return schema;
}

// Map() returns the input; everything else fails.
class OneFileSystem final : public FileSystem {
 public:
  explicit OneFileSystem(std::string_view data) : data_(data) {}
  Result<std::unique_ptr<MappedFile>> Map(const std::string&) override {
    return BytesAsMappedFile(std::string(data_));
  }
  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string&, bool) override {
    return Refused();
  }
  Result<std::string> ReadFile(const std::string&) override { return std::string(data_); }
  Status Truncate(const std::string&, uint64_t) override { return Refused(); }
  Status Rename(const std::string&, const std::string&) override { return Refused(); }
  Status RemoveFile(const std::string&) override { return Refused(); }
  Status RemoveAll(const std::string&) override { return Refused(); }
  Status CreateDirs(const std::string&) override { return Refused(); }
  Status SyncDir(const std::string&) override { return Refused(); }
  Result<bool> Exists(const std::string&) override { return true; }
  Result<std::vector<std::string>> ListDir(const std::string&) override { return Refused(); }
  Result<std::unique_ptr<FileLock>> Lock(const std::string&) override { return Refused(); }

 private:
  static Status Refused() { return Status::IOError("read-only fuzz file system"); }
  std::string_view data_;
};

}  // namespace quiver::fuzz
