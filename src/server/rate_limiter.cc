#include "server/rate_limiter.h"

#include <algorithm>

namespace quiver {

RateLimiter::RateLimiter(double per_second)
    : rate_(per_second), burst_(std::max(1.0, per_second)) {}

bool RateLimiter::Take(const std::string& who) {
  const auto now = std::chrono::steady_clock::now();
  MutexLock lock(&mu_);
  if (buckets_.size() > 10000) {  // forget clients idle long enough to be full again
    std::erase_if(buckets_, [&](const auto& entry) {
      return now - entry.second.last > std::chrono::seconds(60);
    });
  }
  auto [it, fresh] = buckets_.try_emplace(who, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens =
        std::min(burst_, b.tokens + rate_ * std::chrono::duration<double>(now - b.last).count());
    b.last = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace quiver
