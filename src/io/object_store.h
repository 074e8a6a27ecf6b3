#pragma once

#include <cstdint>
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
  // Bytes [offset, offset + length) of the object, clipped to its end: fewer
  // than `length` (none at all when offset equals the size) when the object
  // ends first. kNotFound when absent; kInvalidArgument when `offset` is
  // past the end (there is no byte to start from).
  virtual Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) = 0;
  // The object's size in bytes; kNotFound when absent.
  virtual Result<uint64_t> Size(std::string_view key) = 0;
  // Deleting an absent key succeeds.
  virtual Status Delete(std::string_view key) = 0;
  // Keys that start with `prefix`, sorted.
  virtual Result<std::vector<std::string>> List(std::string_view prefix) = 0;
};

Status ValidateObjectKey(std::string_view key);

// The errors every implementation reports alike: a key that names no object,
// and a GetRange that starts past the object's end.
Status ObjectNotFound(std::string_view key);
Status ObjectRangePastEnd(std::string_view key, uint64_t offset, uint64_t size);

// Stores each object as the file `root`/<key>, written with WriteFileAtomic.
std::unique_ptr<ObjectStore> NewLocalObjectStore(FileSystem* fs, std::string root);

}  // namespace quiver
