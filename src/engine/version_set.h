#pragma once

#include <memory>
#include <vector>

#include "common/lsn.h"
#include "common/mutex.h"
#include "index/vector_index.h"
#include "segment/segment.h"

namespace quiver {

// One segment as a version shows it.
struct SegmentView {
  std::shared_ptr<const Segment> segment;
  size_t rows = 0;  // the rows this version shows (a growing segment's count moves on)
  // Built indexes, one slot per field (null: none); sealed segments only.
  std::vector<std::shared_ptr<const index::VectorIndex>> indexes;
};

// A consistent view of a shard for one read: its segments as of one LSN.
// Immutable once installed; a reader pins it (a shared_ptr) and reads
// without any shard lock, while writes, seals, compactions and index builds
// install newer versions (LevelDB's Version, RocksDB's SuperVersion).
struct ShardVersion {
  Lsn lsn = 0;                        // every record up to here is applied, none after
  std::vector<SegmentView> segments;  // oldest first: sealed, frozen, growing
};

// The current version of a shard: readers pin it, the writer installs the
// next. Its mutex is held only to copy or swap the pointer, and nothing is
// called while it is held, so it comes after every other lock. Thread-safe.
class VersionSet {
 public:
  std::shared_ptr<const ShardVersion> Current() const EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return current_;
  }
  void Install(std::shared_ptr<const ShardVersion> next) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    current_.swap(next);  // the old version is released outside the lock
    lock.Unlock();
  }

 private:
  mutable Mutex mu_;
  std::shared_ptr<const ShardVersion> current_ GUARDED_BY(mu_);
};

}  // namespace quiver
