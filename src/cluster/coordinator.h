#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "catalog/catalog.h"
#include "catalog/meta_store.h"
#include "cluster/layout.h"

namespace quiver::cluster {

// The coordinator role (docs/CLUSTER.md), which one dispatcher holds at a
// time: whoever holds the leased key `coordinator`, the others trying to
// take it whenever it is free. While it holds the role it fills the
// vacancies of every table whose replicas were on nodes that died
// (layout.h, FillVacancies). Driven by one thread (the dispatcher's
// watcher); IsCoordinator is safe from any.
class Coordinator {
 public:
  Coordinator(MetaStore* meta, std::string id, std::chrono::milliseconds lease_ttl)
      : meta_(meta), id_(std::move(id)), lease_ttl_(lease_ttl) {}
  ~Coordinator();  // gives the role up at once (revokes the lease)

  // What the coordinator places from, as the dispatcher last saw it.
  struct View {
    CatalogState catalog;
    std::map<std::string, NodeInfo> nodes;
    std::map<uint64_t, Placement> placements;
  };
  // One round: keeps the lease alive or campaigns (once a third of the TTL),
  // then, as the coordinator and once the dispatcher has read the cluster's
  // state (`ready`), places lost replicas when the state changed, on taking
  // the role, or after a failed placement; `view` is asked only then.
  void Tick(bool changed, bool ready, const std::function<View()>& view);
  bool IsCoordinator() const { return coordinator_; }
  // Replicas this dispatcher placed on other nodes than before, as the
  // coordinator (re-placements after nodes died).
  uint64_t ReplicasPlaced() const { return replicas_placed_; }

 private:
  void Campaign();
  // False when a placement could not be written (tried again next round).
  bool PlaceLostReplicas(const View& view);

  MetaStore* const meta_;
  const std::string id_;
  const std::chrono::milliseconds lease_ttl_;
  std::atomic<bool> coordinator_{false};
  std::atomic<uint64_t> replicas_placed_{0};
  LeaseId lease_ = 0;
  std::chrono::steady_clock::time_point next_keep_alive_{};
  bool placed_once_ = false;       // since taking the role
  bool placement_failed_ = false;  // the last round could not write a placement
};

}  // namespace quiver::cluster
