#include "index/hnsw.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <random>
#include <string>

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
  const uint32_t* block =
      level == 0 ? level0_.data() + row * stride0_
                 : upper_.data() + upper_start_[row] + static_cast<size_t>(level - 1) * (m_ + 1);
  return {block + 1, block[0]};
}

void HnswGraph::SetLinks(uint32_t row, int level, const std::vector<uint32_t>& links) {
  uint32_t* block = level == 0 ? owned_level0_.data() + row * stride0_
                               : owned_upper_.data() + upper_start_[row] +
                                     static_cast<size_t>(level - 1) * (m_ + 1);
  block[0] = static_cast<uint32_t>(links.size());
  std::copy(links.begin(), links.end(), block + 1);
}

void HnswGraph::IndexUpperLevels() {
  upper_start_.assign(levels_.size(), 0);
  size_t next = 0;
  for (size_t row = 0; row < levels_.size(); ++row) {
    upper_start_[row] = static_cast<uint32_t>(next);
    next += size_t{levels_[row]} * (m_ + 1);
  }
}

template <typename DistanceTo, typename Prefetch>
std::vector<ScoredRow> HnswGraph::SearchLayer(DistanceTo&& distance_to, Prefetch&& prefetch,
                                              const std::vector<ScoredRow>& entry, size_t ef,
                                              int level, std::span<const uint8_t> allowed,
                                              HnswSearchContext* context, bool two_hop) const {
  const bool filtered = !allowed.empty();
  MinHeap candidates;  // to expand, nearest first
  MaxHeap results;     // best ef admitted rows, worst on top
  for (const ScoredRow& e : entry) {
    if (!context->Visit(e.row)) continue;
    candidates.push(e);
    if (!filtered || allowed[e.row]) results.push(e);
  }
  std::vector<uint32_t>& next_rows = context->next_rows_;
  const size_t limit = 2 * size_t{m_};
  while (!candidates.empty()) {
    const ScoredRow current = candidates.top();
    if (results.size() >= ef && current.distance > results.top().distance) break;
    candidates.pop();
    const auto links = Links(current.row, level);
    next_rows.clear();
    if (two_hop) {
      // Under a selective filter (ACORN-1, Patel et al. 2024): rejected rows
      // are not measured; the admitted rows among their own links are, so
      // the walk measures admitted rows almost only and stays connected.
      for (uint32_t next : links) {
        if (!allowed[next]) {  // its links are read next: fetch them meanwhile
          const uint32_t* block = Links(next, level).data() - 1;
          __builtin_prefetch(block);
          __builtin_prefetch(block + 16);
        } else if (context->Visit(next)) {
          next_rows.push_back(next);
        }
      }
      for (uint32_t next : links) {
        if (next_rows.size() >= limit) break;
        if (allowed[next] || !context->Visit(next)) continue;
        for (uint32_t hop : Links(next, level)) {
          if (next_rows.size() >= limit) break;
          if (allowed[hop] && context->Visit(hop)) next_rows.push_back(hop);
        }
      }
    } else {
      for (uint32_t next : links) {
        if (context->Visit(next)) next_rows.push_back(next);
      }
    }
    for (uint32_t next : next_rows) prefetch(next);
    for (uint32_t next : next_rows) {
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
  const int level = levels_[row];
  if (max_level_ < 0) {
    entry_ = row;
    max_level_ = level;
    return;
  }
  auto distance_to = [&](uint32_t other) { return rows.Between(row, other); };
  auto prefetch = [](uint32_t) {};
  std::vector<ScoredRow> entry = {{distance_to(entry_), entry_}};
  for (int l = max_level_; l > level; --l) {  // greedy descent
    context->Begin(size());
    entry = SearchLayer(distance_to, prefetch, entry, 1, l, {}, context);
  }
  for (int l = std::min(level, max_level_); l >= 0; --l) {
    context->Begin(size());
    std::vector<ScoredRow> found =
        SearchLayer(distance_to, prefetch, entry, ef_construction_, l, {}, context);
    const size_t capacity = l == 0 ? 2 * m_ : m_;
    std::vector<uint32_t> neighbors = SelectNeighbors(found, m_, rows);
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

HnswGraph HnswGraph::Build(const RowDistance& rows, const HnswParams& params,
                           const std::atomic<bool>* stop) {
  HnswGraph graph;
  graph.m_ = std::max<uint32_t>(2, params.m);
  graph.ef_construction_ = std::max<uint32_t>(graph.m_, params.ef_construction);
  const size_t n = rows.size();
  // Level ~ floor(-ln(U) / ln(m)): each level up holds about 1/m of the rows.
  std::mt19937_64 rng(params.seed);
  std::uniform_real_distribution<double> uniform(std::nextafter(0.0, 1.0), 1.0);
  graph.owned_levels_.resize(n);
  for (auto& level : graph.owned_levels_) {
    level = static_cast<uint8_t>(std::min(
        60, static_cast<int>(-std::log(uniform(rng)) / std::log(static_cast<double>(graph.m_)))));
  }
  graph.levels_ = graph.owned_levels_;
  graph.IndexUpperLevels();
  graph.stride0_ = 2 * graph.m_ + 1;
  graph.owned_level0_.assign(n * graph.stride0_, 0);
  graph.level0_ = graph.owned_level0_;
  const size_t upper_size =
      n == 0 ? 0 : graph.upper_start_.back() + size_t{graph.levels_.back()} * (graph.m_ + 1);
  graph.owned_upper_.assign(upper_size, 0);
  graph.upper_ = graph.owned_upper_;
  HnswSearchContext context;
  for (uint32_t row = 0; row < n; ++row) {
    if (stop != nullptr && row % 256 == 0 && stop->load(std::memory_order_relaxed)) break;
    graph.Insert(row, rows, &context);
  }
  return graph;
}

HnswLayout HnswGraph::layout() const {
  return {m_, entry_, max_level_, levels_, level0_, upper_};
}

Result<HnswGraph> HnswGraph::FromLayout(const HnswLayout& layout,
                                        std::shared_ptr<const void> backing) {
  auto bad = [](const std::string& what) { return Status::Corruption("HNSW graph: " + what); };
  const size_t n = layout.levels.size();
  if (layout.m < 2 || layout.m > 1024) return bad("bad M " + std::to_string(layout.m));
  HnswGraph graph;
  graph.m_ = layout.m;
  graph.stride0_ = 2 * size_t{layout.m} + 1;
  graph.levels_ = layout.levels;
  graph.level0_ = layout.level0;
  graph.upper_ = layout.upper;
  graph.entry_ = layout.entry;
  graph.max_level_ = layout.max_level;
  graph.backing_ = std::move(backing);
  if (layout.level0.size() != n * graph.stride0_) return bad("level 0 has the wrong size");
  graph.IndexUpperLevels();
  const size_t upper_size =
      n == 0 ? 0 : graph.upper_start_.back() + size_t{layout.levels.back()} * (layout.m + 1);
  if (layout.upper.size() != upper_size) return bad("upper levels have the wrong size");
  if (n == 0 ? layout.max_level != -1
             : layout.entry >= n || layout.max_level != layout.levels[layout.entry]) {
    return bad("bad entry point");
  }
  int top = -1;
  for (uint32_t row = 0; row < n; ++row) {
    top = std::max<int>(top, layout.levels[row]);
    for (int level = 0; level <= layout.levels[row]; ++level) {
      const uint32_t* block = level == 0 ? graph.level0_.data() + row * graph.stride0_
                                         : graph.upper_.data() + graph.upper_start_[row] +
                                               static_cast<size_t>(level - 1) * (layout.m + 1);
      if (block[0] > (level == 0 ? 2 * layout.m : layout.m))
        return bad("row " + std::to_string(row) + " has too many links");
      for (uint32_t i = 1; i <= block[0]; ++i) {
        if (block[i] >= n || layout.levels[block[i]] < level)
          return bad("row " + std::to_string(row) + " links to a missing row");
      }
    }
  }
  if (top != layout.max_level) return bad("max level disagrees with the rows");
  return graph;
}

std::vector<ScoredRow> HnswGraph::Search(const QueryDistance& query, size_t k, size_t ef,
                                         std::span<const uint8_t> allowed,
                                         HnswSearchContext* context, bool two_hop) const {
  if (max_level_ < 0 || k == 0) return {};
  auto distance_to = [&](uint32_t row) { return query.To(row); };
  auto prefetch = [&](uint32_t row) { query.Prefetch(row); };
  std::vector<ScoredRow> entry = {{distance_to(entry_), entry_}};
  for (int l = max_level_; l > 0; --l) {
    context->Begin(size());
    entry = SearchLayer(distance_to, prefetch, entry, 1, l, {}, context);
  }
  context->Begin(size());
  std::vector<ScoredRow> found = SearchLayer(distance_to, prefetch, entry, std::max(ef, k), 0,
                                             allowed, context, !allowed.empty() && two_hop);
  if (found.size() > k) found.resize(k);
  return found;
}

}  // namespace quiver::index
