#pragma once

#include <chrono>
#include <string>
#include <unordered_map>

#include "common/mutex.h"

namespace quiver {

// Token buckets per client (an API key name, or an address without keys):
// `per_second` requests per second, bursts up to one second's worth.
// Buckets of clients idle for a minute are forgotten once there are more
// than 10,000. Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(double per_second);
  // Whether `who` may make a request now (and takes its token).
  bool Take(const std::string& who);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  const double rate_, burst_;
  Mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ GUARDED_BY(mu_);
};

}  // namespace quiver
