#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "io/file_system.h"
#include "io/object_store.h"

namespace quiver {

// Where a shard's immutable files live: sealed segments ("segments/<id>.seg")
// and index files ("indexes/<segment>.<field>.qvi"), each written once and
// opened as a mapping of a local file.
//
// Standalone, the files are in the shard's directory, which is both the
// store and the cache: nothing is copied, segments are mapped where they
// were written. With an ObjectStore (S3 in a cluster), a file is uploaded
// under the shard's prefix and kept in the local cache directory; opening a
// file the cache lacks downloads it first (a follower's bootstrap), and the
// cache copy is what gets mapped. Checksums are verified by whoever opens
// the mapping (SealedSegment, the index reader). Thread-safe.
class SegmentStore {
 public:
  // Files in `dir`.
  static std::unique_ptr<SegmentStore> Local(FileSystem* fs, std::string dir);
  // Objects under `prefix` in `store`, cached in `cache_dir`.
  static std::unique_ptr<SegmentStore> Remote(FileSystem* fs, std::string cache_dir,
                                              ObjectStore* store, std::string prefix);

  // Writes `name` durably (atomically: the whole file or none of it);
  // `crash_point` names the local write's crash points.
  Status Write(const std::string& name, std::string_view bytes, std::string_view crash_point);
  // The same, with the content appended by `produce` (a segment streams its
  // columns). Remote: written to a temporary file, uploaded from it, then
  // renamed into the cache.
  Status WriteFrom(const std::string& name, const std::function<Status(WritableFile*)>& produce,
                   std::string_view crash_point);
  // Maps `name` (downloading it into the cache first when remote).
  Result<std::unique_ptr<MappedFile>> Open(const std::string& name);
  // Drops the cache copy of `name` (when remote), so the next Open
  // downloads it again: a cached copy that failed its checks.
  Status Evict(const std::string& name);
  // Whether the files live in an object store (and this is only a cache).
  bool remote() const { return store_ != nullptr; }
  // Removes `name` (an absent one too).
  Status Remove(const std::string& name);
  // Keeps a damaged file for a post-mortem at `local_path` (moving the local
  // copy there) and removes it from the store, so it is written again.
  Status Quarantine(const std::string& name, const std::string& local_path);
  // The names of the files in `folder` ("segments", "indexes"), left-over
  // temporary files included; remote: the store's and the cache's.
  Result<std::vector<std::string>> List(const std::string& folder);
  // Makes removals in `folder` durable.
  Status Sync(const std::string& folder);
  // Where `name` lives, for messages: a path, or the store's key.
  std::string Where(const std::string& name) const;
  // The local file `name` is mapped from.
  std::string LocalPath(const std::string& name) const { return JoinPath(dir_, name); }

 private:
  SegmentStore(FileSystem* fs, std::string dir, ObjectStore* store, std::string prefix)
      : fs_(fs), dir_(std::move(dir)), store_(store), prefix_(std::move(prefix)) {}
  std::string Key(const std::string& name) const { return prefix_ + "/" + name; }
  // Written atomically; `before_rename` sees the complete temporary file.
  Status WriteLocal(const std::string& name, const std::function<Status(WritableFile*)>& produce,
                    std::string_view crash_point,
                    const std::function<Status(const std::string&)>& before_rename);

  FileSystem* const fs_;
  const std::string dir_;     // the files (local), or the cache (remote)
  ObjectStore* const store_;  // null: local
  const std::string prefix_;
};

}  // namespace quiver
