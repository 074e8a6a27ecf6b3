#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "io/file_system.h"

namespace quiver {

// The ObjectStore port: immutable named blobs (sealed segments, indexes).
// Standalone it is a local directory; in a cluster, S3-compatible storage.
//
// Keys are '/'-separated parts, each matching [A-Za-z0-9_.-]+ and none equal
// to "." or ".."; anything else is kInvalidArgument, so a key can never
// escape the store. Put is atomic: readers see the whole old object or the
// whole new one. Thread-safe.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Status Put(std::string_view key, std::string_view data) = 0;
  // kNotFound when absent.
  virtual Result<std::string> Get(std::string_view key) = 0;
  // Deleting an absent key succeeds.
  virtual Status Delete(std::string_view key) = 0;
  // Keys that start with `prefix`, sorted.
  virtual Result<std::vector<std::string>> List(std::string_view prefix) = 0;
};

Status ValidateObjectKey(std::string_view key);

// Stores each object as the file `root`/<key>, written with WriteFileAtomic.
std::unique_ptr<ObjectStore> NewLocalObjectStore(FileSystem* fs, std::string root);

}  // namespace quiver
