#include "server/worker_pool.h"

#include <algorithm>
#include <chrono>

namespace quiver {

ElasticPool::ElasticPool(size_t min, size_t max) : min_(min), max_(std::max(min, max)) {
  MutexLock lock(&mu_);
  for (size_t i = 0; i < min_; ++i) StartThread();
}

void ElasticPool::enqueue(std::function<void()> fn) {
  MutexLock lock(&mu_);
  jobs_.push_back(std::move(fn));
  if (idle_ < jobs_.size() && threads_.size() - exited_.size() < max_) StartThread();
  cv_.Signal();
}

void ElasticPool::shutdown() {
  std::map<uint64_t, std::thread> threads;
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    // Workers no longer count threads_ once stopping_ is set (see Work).
    threads = std::move(threads_);
    threads_.clear();
  }
  cv_.SignalAll();
  for (auto& [id, thread] : threads) thread.join();
}

void ElasticPool::StartThread() {
  for (uint64_t id : exited_) {
    threads_[id].join();
    threads_.erase(id);
  }
  exited_.clear();
  const uint64_t id = next_id_++;
  threads_.emplace(id, std::thread([this, id] { Work(id); }));
}

bool ElasticPool::WaitForWork() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!stopping_ && jobs_.empty()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    cv_.WaitFor(&mu_, deadline - now);
  }
  return true;
}

void ElasticPool::Work(uint64_t id) {
  MutexLock lock(&mu_);
  while (true) {
    ++idle_;
    const bool woke = WaitForWork();
    --idle_;
    // An idle extra worker leaves (never during shutdown: WaitForWork is
    // true once stopping_ is set).
    if (!woke && threads_.size() - exited_.size() > min_) break;
    if (jobs_.empty()) {
      if (stopping_) break;
      continue;
    }
    auto fn = std::move(jobs_.front());
    jobs_.pop_front();
    lock.Unlock();
    fn();
    lock.Lock();
  }
  if (!stopping_) exited_.push_back(id);  // at shutdown every thread is joined anyway
}

}  // namespace quiver
