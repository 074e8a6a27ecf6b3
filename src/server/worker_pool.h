#pragma once

#include <httplib.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace quiver {

// Connection workers for httplib: `min` threads always, more on demand up to
// `max` (an extra one that stays idle for 30 s leaves). httplib serves a
// connection on one thread until it closes, so a fixed pool is exhausted by
// a few slow clients that dribble their headers; growing the pool keeps
// everyone else served. Thread-safe.
class ElasticPool final : public httplib::TaskQueue {
 public:
  ElasticPool(size_t min, size_t max);
  ~ElasticPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override;
  // Lets queued and running jobs finish, then joins every worker.
  void shutdown() override;

 private:
  // Joins the workers that left (they released mu_ for the last time when
  // they recorded it, so each join is immediate), then starts one.
  void StartThread() REQUIRES(mu_);
  // Waits up to 30 s for a job or the shutdown; false when none came.
  bool WaitForWork() REQUIRES(mu_);
  void Work(uint64_t id);

  const size_t min_, max_;
  Mutex mu_;
  CondVar cv_;  // with mu_: a job was queued, or the pool stops
  std::deque<std::function<void()>> jobs_ GUARDED_BY(mu_);
  std::map<uint64_t, std::thread> threads_ GUARDED_BY(mu_);
  std::vector<uint64_t> exited_ GUARDED_BY(mu_);  // left, not yet joined
  uint64_t next_id_ GUARDED_BY(mu_) = 0;
  size_t idle_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
};

}  // namespace quiver
