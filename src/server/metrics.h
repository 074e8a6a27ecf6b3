#pragma once

// GET /metrics: request counts and latency histograms per route, plus the
// engine's storage and index figures, in the Prometheus text format (0.0.4).

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/collection.h"

namespace quiver {

class HttpMetrics {
 public:
  // One entry per route: its method and a readable path ("/api/{db}/data/query").
  struct RouteLabel {
    std::string method, path;
  };
  explicit HttpMetrics(std::vector<RouteLabel> routes);

  // Records one request of route `route` (index into the constructor's list).
  void Observe(size_t route, int status, double seconds);
  std::string Render(const DatabaseService& engine) const;

 private:
  static constexpr std::array<double, 14> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  struct PerRoute {
    std::array<std::atomic<uint64_t>, 6> by_class{};              // index: status / 100
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> le{};  // last: +Inf
    std::atomic<uint64_t> micros{0};
  };
  std::vector<RouteLabel> labels_;
  std::unique_ptr<PerRoute[]> routes_;
};

}  // namespace quiver
