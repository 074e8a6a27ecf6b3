#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "common/mutex.h"

namespace quiver {

// A hybrid logical clock for write stamps: microseconds since the Unix
// epoch, but never behind a stamp already handed out or observed, so the
// stamps of one table's writes grow with the order the writes were made in
// (get returns rows by stamp when a table has several shards). A dispatcher
// in a cluster stamps with the same clock, so its order is wall-clock order
// give or take the clocks' skew. Thread-safe.
class WriteClock {
 public:
  // Reserves `count` consecutive stamps (at least one) and returns the first.
  uint64_t Take(uint64_t count) EXCLUDES(mu_) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const uint64_t micros =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
    MutexLock lock(&mu_);
    const uint64_t first = std::max(micros, last_ + 1);
    last_ = first + std::max<uint64_t>(count, 1) - 1;
    return first;
  }
  // A stamp made elsewhere (recovered from disk): later stamps come after it.
  void Observe(uint64_t stamp) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    last_ = std::max(last_, stamp);
  }
  uint64_t last() const EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return last_;
  }

 private:
  mutable Mutex mu_;
  uint64_t last_ GUARDED_BY(mu_) = 0;
};

}  // namespace quiver
