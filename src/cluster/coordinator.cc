#include "cluster/coordinator.h"

#include <algorithm>

#include "common/log.h"

namespace quiver::cluster {
namespace {

// How many of `next`'s replicas are on a node that did not hold them.
uint64_t NewlyPlaced(const Placement& before, const Placement& next) {
  uint64_t placed = 0;
  for (size_t s = 0; s < next.shards.size(); ++s) {
    for (const auto& node : next.shards[s]) {
      const bool held = s < before.shards.size() &&
                        std::find(before.shards[s].begin(), before.shards[s].end(), node) !=
                            before.shards[s].end();
      placed += held ? 0 : 1;
    }
  }
  return placed;
}

}  // namespace

Coordinator::~Coordinator() {
  if (lease_ != 0) (void)meta_->RevokeLease(lease_);
}

void Coordinator::Tick(bool changed, bool ready, const std::function<View()>& view) {
  if (std::chrono::steady_clock::now() >= next_keep_alive_) {
    Campaign();
    next_keep_alive_ = std::chrono::steady_clock::now() + lease_ttl_ / 3;
  }
  if (coordinator_ && ready && (changed || !placed_once_ || placement_failed_)) {
    placement_failed_ = !PlaceLostReplicas(view());
    placed_once_ = true;
  }
}

void Coordinator::Campaign() {
  if (lease_ != 0) {
    Status kept = meta_->KeepAlive(lease_);
    if (kept.ok() && coordinator_) return;
    if (!kept.ok()) {
      if (coordinator_)
        log::Get("cluster").warn("dispatcher {}: no longer the coordinator: {}", id_,
                                 kept.ToString());
      coordinator_ = false;
      lease_ = 0;
    }
  }
  if (lease_ == 0) {
    auto lease = meta_->GrantLease(lease_ttl_);
    if (!lease.ok()) return;
    lease_ = *lease;
  }
  auto won = meta_->CompareAndPut(kCoordinatorKey, id_, 0, lease_);
  if (won.ok()) {
    coordinator_ = true;
    placed_once_ = false;
    log::Get("cluster").info("dispatcher {} is the coordinator", id_);
  }
}

bool Coordinator::PlaceLostReplicas(const View& view) {
  if (view.nodes.empty()) return true;
  std::vector<std::string> live;
  live.reserve(view.nodes.size());
  for (const auto& [id, node] : view.nodes) live.push_back(id);
  bool all_placed = true;
  for (const auto& db : view.catalog.databases) {
    for (const auto& table : db.tables) {
      // Its creator writes a table's placement before the catalog names
      // it; one not seen yet is on its way (never overwritten from here).
      auto it = view.placements.find(table.id);
      if (it == view.placements.end()) continue;
      const Placement next = FillVacancies(table.id, table.slots.shards(), it->second, live);
      if (next == it->second) continue;
      log::Get("cluster").info("coordinator {}: placing lost replicas of table '{}' on live nodes",
                               id_, table.schema.name);
      Status put = meta_->Put(PlacementKey(table.id), EncodePlacement(next)).status();
      if (!put.ok()) {
        all_placed = false;
        log::Get("cluster").warn("coordinator {}: {}", id_, put.ToString());
      } else {
        replicas_placed_ += NewlyPlaced(it->second, next);
      }
    }
  }
  return all_placed;
}

}  // namespace quiver::cluster
