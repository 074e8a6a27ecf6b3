#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "catalog/meta_store.h"
#include "cluster/shard_service.h"
#include "common/mutex.h"
#include "engine/shard.h"

namespace quiver::cluster {

// One replica this node hosts, and the thread applying its log.
struct Replica {
  ShardId id;
  uint64_t table_id = 0;
  std::shared_ptr<Shard> shard;
  // The log's last LSN when opened (lowered if the log went back below
  // it): ready once applied.
  Lsn target = 0;
  std::atomic<bool> caught_up{false};
  std::atomic<bool> stop{false};
  std::thread applier;
  // Replicas of a shard share its manifest and files (an object store is
  // configured): one leads, the others follow.
  bool shared = false;
  std::string leader_key;
  Revision epoch = 0;  // the leader key this replica won (applier thread only)
  // This node's place in the shard's placement: a vacant leadership goes to
  // the first ready replica in that order (rank r runs r polls late), so the
  // leaders of a table's shards spread as its replicas do.
  std::atomic<size_t> rank{0};
  std::optional<std::chrono::steady_clock::time_point> vacant_since;  // applier thread only
  Mutex mu;
  std::optional<KeyValue> manifest GUARDED_BY(mu);  // the newest one the watch saw
};

}  // namespace quiver::cluster
