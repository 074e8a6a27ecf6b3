#include "index/hnsw.h"

#include <algorithm>
#include <cmath>
#include <queue>

namespace quiver::index {
namespace {

struct Nearer {
  bool operator()(const ScoredRow& a, const ScoredRow& b) const { return a.distance > b.distance; }
};
struct Farther {
  bool operator()(const ScoredRow& a, const ScoredRow& b) const { return a.distance < b.distance; }
};
using MinHeap = std::priority_queue<ScoredRow, std::vector<ScoredRow>, Nearer>;
using MaxHeap = std::priority_queue<ScoredRow, std::vector<ScoredRow>, Farther>;

}  // namespace

void HnswSearchContext::Begin(size_t rows) {
  if (visited_.size() < rows) visited_.resize(rows, 0);
  if (++epoch_ == 0) {  // wrapped: clear once every 2^32 searches
    std::fill(visited_.begin(), visited_.end(), 0);
    epoch_ = 1;
  }
}

bool HnswSearchContext::Visit(uint32_t row) {
  if (visited_[row] == epoch_) return false;
  visited_[row] = epoch_;
  return true;
}

std::span<const uint32_t> HnswGraph::Links(uint32_t row, int level) const {
  if (level == 0) return {links0_.data() + row * capacity0_, count0_[row]};
  return upper_[row][static_cast<size_t>(level) - 1];
}

void HnswGraph::SetLinks(uint32_t row, int level, const std::vector<uint32_t>& links) {
  if (level == 0) {
    std::copy(links.begin(), links.end(),
              links0_.begin() + static_cast<ptrdiff_t>(row * capacity0_));
    count0_[row] = static_cast<uint16_t>(links.size());
  } else {
    upper_[row][static_cast<size_t>(level) - 1] = links;
  }
}

template <typename DistanceTo>
std::vector<ScoredRow> HnswGraph::SearchLayer(DistanceTo&& distance_to,
                                              const std::vector<ScoredRow>& entry, size_t ef,
                                              int level, std::span<const uint8_t> allowed,
                                              HnswSearchContext* context) const {
  const bool filtered = !allowed.empty();
  MinHeap candidates;  // to expand, nearest first
  MaxHeap results;     // best ef admitted rows, worst on top
  for (const ScoredRow& e : entry) {
    if (!context->Visit(e.row)) continue;
    candidates.push(e);
    if (!filtered || allowed[e.row]) results.push(e);
  }
  while (!candidates.empty()) {
    const ScoredRow current = candidates.top();
    if (results.size() >= ef && current.distance > results.top().distance) break;
    candidates.pop();
    for (uint32_t next : Links(current.row, level)) {
      if (!context->Visit(next)) continue;
      const float d = distance_to(next);
      if (results.size() < ef || d < results.top().distance) {
        candidates.push({d, next});
        if (!filtered || allowed[next]) {
          results.push({d, next});
          if (results.size() > ef) results.pop();
        }
      }
    }
  }
  std::vector<ScoredRow> out(results.size());
  for (size_t i = out.size(); i-- > 0;) {
    out[i] = results.top();
    results.pop();
  }
  return out;  // nearest first
}

// The HNSW heuristic: keep a candidate only if it is nearer to the base than
// to every neighbour kept so far, which spreads links across directions.
std::vector<uint32_t> HnswGraph::SelectNeighbors(std::vector<ScoredRow> candidates, size_t limit,
                                                 const RowDistance& rows) const {
  std::sort(candidates.begin(), candidates.end(),
            [](const ScoredRow& a, const ScoredRow& b) { return a.distance < b.distance; });
  std::vector<uint32_t> kept;
  for (const ScoredRow& c : candidates) {
    if (kept.size() == limit) break;
    bool diverse = true;
    for (uint32_t k : kept) {
      if (rows.Between(c.row, k) < c.distance) {
        diverse = false;
        break;
      }
    }
    if (diverse) kept.push_back(c.row);
  }
  return kept;
}

void HnswGraph::Insert(uint32_t row, const RowDistance& rows, HnswSearchContext* context) {
  // Level ~ floor(-ln(U) / ln(m)): each level up holds about 1/m of the rows.
  std::uniform_real_distribution<double> uniform(std::nextafter(0.0, 1.0), 1.0);
  const int level = std::min(
      60, static_cast<int>(-std::log(uniform(rng_)) / std::log(static_cast<double>(params_.m))));
  levels_[row] = static_cast<uint8_t>(level);
  upper_[row].resize(static_cast<size_t>(level));
  if (max_level_ < 0) {
    entry_ = row;
    max_level_ = level;
    return;
  }
  auto distance_to = [&](uint32_t other) { return rows.Between(row, other); };
  std::vector<ScoredRow> entry = {{distance_to(entry_), entry_}};
  for (int l = max_level_; l > level; --l) {  // greedy descent
    context->Begin(size());
    entry = SearchLayer(distance_to, entry, 1, l, {}, context);
  }
  for (int l = std::min(level, max_level_); l >= 0; --l) {
    context->Begin(size());
    std::vector<ScoredRow> found =
        SearchLayer(distance_to, entry, params_.ef_construction, l, {}, context);
    const size_t capacity = l == 0 ? 2 * params_.m : params_.m;
    std::vector<uint32_t> neighbors = SelectNeighbors(found, params_.m, rows);
    SetLinks(row, l, neighbors);
    for (uint32_t n : neighbors) {
      const auto current = Links(n, l);
      std::vector<uint32_t> back(current.begin(), current.end());
      back.push_back(row);
      if (back.size() > capacity) {  // shrink with the same heuristic, seen from n
        std::vector<ScoredRow> scored;
        scored.reserve(back.size());
        for (uint32_t b : back) scored.push_back({rows.Between(n, b), b});
        back = SelectNeighbors(std::move(scored), capacity, rows);
      }
      SetLinks(n, l, back);
    }
    entry = std::move(found);
  }
  if (level > max_level_) {
    entry_ = row;
    max_level_ = level;
  }
}

HnswGraph HnswGraph::Build(const RowDistance& rows, const HnswParams& params) {
  HnswGraph graph;
  graph.params_ = params;
  graph.params_.m = std::max<uint32_t>(2, params.m);
  graph.params_.ef_construction = std::max<uint32_t>(graph.params_.m, params.ef_construction);
  graph.rng_.seed(params.seed);
  const size_t n = rows.size();
  graph.levels_.resize(n);
  graph.capacity0_ = 2 * graph.params_.m;
  graph.links0_.resize(n * graph.capacity0_);
  graph.count0_.resize(n);
  graph.upper_.resize(n);
  HnswSearchContext context;
  for (uint32_t row = 0; row < n; ++row) graph.Insert(row, rows, &context);
  return graph;
}

std::vector<ScoredRow> HnswGraph::Search(const QueryDistance& query, size_t k, size_t ef,
                                         std::span<const uint8_t> allowed,
                                         HnswSearchContext* context) const {
  if (max_level_ < 0 || k == 0) return {};
  auto distance_to = [&](uint32_t row) { return query.To(row); };
  std::vector<ScoredRow> entry = {{distance_to(entry_), entry_}};
  for (int l = max_level_; l > 0; --l) {
    context->Begin(size());
    entry = SearchLayer(distance_to, entry, 1, l, {}, context);
  }
  context->Begin(size());
  std::vector<ScoredRow> found =
      SearchLayer(distance_to, entry, std::max(ef, k), 0, allowed, context);
  if (found.size() > k) found.resize(k);
  return found;
}

}  // namespace quiver::index
