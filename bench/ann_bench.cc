// ANN benchmark on an .fvecs/.ivecs data set: Quiver's HNSW against hnswlib
// (Debian libhnswlib-dev) with the same M and efConstruction, one thread.
// Prints build times, memory, recall@10 and QPS per ef, and last:
//   quiver/hnswlib qps ratio at recall@10 0.95: X.XX
// (QPS interpolated at recall 0.95 on both curves).
//
//   make bench-ann DATA=../shared/data/ocvsift-128

#include <fmt/format.h>
#include <hnswlib/hnswlib.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <set>

#include "common/process.h"
#include "index/vector_index.h"
#include "kernels/kernels.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// .fvecs / .ivecs: per vector an int32 dimension, then that many 4-byte values.
template <typename T>
std::vector<T> ReadVecs(const std::string& path, size_t* dims) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<T> out;
  int32_t d = 0;
  while (in.read(reinterpret_cast<char*>(&d), 4)) {
    *dims = static_cast<size_t>(d);
    const size_t at = out.size();
    out.resize(at + *dims);
    in.read(reinterpret_cast<char*>(out.data() + at), static_cast<std::streamsize>(*dims * 4));
  }
  return out;
}

struct Point {
  size_t ef;
  double recall, qps;
};

// QPS at `target` recall, interpolating log(QPS) linearly in recall.
double QpsAt(const std::vector<Point>& curve, double target) {
  for (size_t i = 1; i < curve.size(); ++i) {
    const Point& a = curve[i - 1];
    const Point& b = curve[i];
    if (a.recall <= target && b.recall >= target) {
      if (b.recall == a.recall) return b.qps;
      const double t = (target - a.recall) / (b.recall - a.recall);
      return std::exp(std::log(a.qps) + t * (std::log(b.qps) - std::log(a.qps)));
    }
  }
  return std::nan("");
}

// One timed pass over `queries` queries at `ef`; `run` returns the recall hits.
struct Pass {
  size_t ef;
  size_t queries;
  std::function<size_t()> run;
};

constexpr int kRepeats = 3;

// Times every pass kRepeats times, sweep after sweep (so a disturbance of the
// machine lands on different points in each sweep), after one untimed run of
// the first `warm_ups` passes so that every index is paged in and the caches
// are warm before the first timed point; each point keeps its median QPS.
std::vector<Point> MedianSweep(const std::vector<Pass>& passes, size_t warm_ups) {
  for (size_t i = 0; i < std::min(warm_ups, passes.size()); ++i) passes[i].run();
  std::vector<std::vector<double>> qps(passes.size());
  std::vector<size_t> hits(passes.size());
  for (int r = 0; r < kRepeats; ++r) {
    for (size_t i = 0; i < passes.size(); ++i) {
      const auto begin = Clock::now();
      hits[i] = passes[i].run();
      qps[i].push_back(passes[i].queries / Seconds(begin));
    }
  }
  std::vector<Point> points;
  for (size_t i = 0; i < passes.size(); ++i) {
    std::sort(qps[i].begin(), qps[i].end());
    points.push_back({passes[i].ef, hits[i] / (10.0 * passes[i].queries), qps[i][kRepeats / 2]});
  }
  return points;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Quiver HNSW vs hnswlib"};
  std::string dir;
  size_t m = 16, ef_construction = 200, queries_used = 1000, filtered_queries = 300;
  std::vector<size_t> efs = {10, 16, 24, 32, 48, 64, 96, 128, 192, 256};
  bool sq8 = true, filtered_only = false;
  std::string index_cache;
  app.add_option("data", dir, "Directory with base.fvecs, query.fvecs, groundtruth.ivecs")
      ->required();
  app.add_option("--m", m)->capture_default_str();
  app.add_option("--ef-construction", ef_construction)->capture_default_str();
  app.add_option("--queries", queries_used, "Queries to time")->capture_default_str();
  app.add_option("--filtered-queries", filtered_queries)->capture_default_str();
  app.add_option("--ef", efs, "ef values to sweep");
  app.add_option("--sq8", sq8, "Also measure HNSW_SQ8")->capture_default_str();
  app.add_flag("--filtered-only", filtered_only, "Only the unfiltered and filtered sweeps of ours");
  app.add_option("--index-cache", index_cache,
                 "Keep our HNSW index file here (built when missing; for --filtered-only runs)");
  CLI11_PARSE(app, argc, argv);

  size_t dims = 0, qdims = 0, gdims = 0;
  const auto base = ReadVecs<float>(dir + "/base.fvecs", &dims);
  const auto queries = ReadVecs<float>(dir + "/query.fvecs", &qdims);
  const auto truth = ReadVecs<int32_t>(dir + "/groundtruth.ivecs", &gdims);
  const size_t n = base.size() / dims;
  queries_used = std::min(queries_used, queries.size() / qdims);
  fmt::print("{} base vectors x {}-d, {} queries, M {}, efConstruction {}, kernels {}, 1 thread\n",
             n, dims, queries_used, m, ef_construction, quiver::kernels::Active().name);

  namespace qi = quiver::index;
  const qi::VectorSet set{base.data(), nullptr, n, static_cast<uint32_t>(dims),
                          quiver::Metric::kEuclidean};
  auto build = [&](quiver::IndexType type, double* seconds) {
    quiver::IndexSpec spec;
    spec.type = type;
    spec.m = static_cast<uint32_t>(m);
    spec.ef_construction = static_cast<uint32_t>(ef_construction);
    const auto start = Clock::now();
    quiver::Result<std::string> file = std::string();
    const bool cached = type == quiver::IndexType::kHnsw && !index_cache.empty() &&
                        std::ifstream(index_cache).good();
    if (cached) {
      std::ifstream in(index_cache, std::ios::binary);
      file = std::string(std::istreambuf_iterator<char>(in), {});
    } else {
      file = qi::BuildIndexFile(set, spec);
    }
    if (!file.ok()) throw std::runtime_error(file.status().ToString());
    *seconds = Seconds(start);
    if (!cached && type == quiver::IndexType::kHnsw && !index_cache.empty())
      std::ofstream(index_cache, std::ios::binary) << *file;
    auto index =
        qi::OpenIndexFile(quiver::BytesAsMappedFile(std::move(file).value()), set, "bench");
    if (!index.ok()) throw std::runtime_error(index.status().ToString());
    return std::move(index).value();
  };
  double quiver_build = 0;
  const auto ours = build(quiver::IndexType::kHnsw, &quiver_build);

  hnswlib::L2Space space(dims);
  size_t before = quiver::ResidentBytes();
  auto start = Clock::now();
  hnswlib::HierarchicalNSW<float> peer(&space, filtered_only ? 1 : n, m, ef_construction, 100);
  for (size_t i = 0; i < n && !filtered_only; ++i) peer.addPoint(base.data() + i * dims, i);
  const double hnswlib_build = Seconds(start);
  const size_t hnswlib_memory = quiver::ResidentBytes() - before;
  fmt::print("build: quiver {:.1f} s, hnswlib {:.1f} s (quiver/hnswlib build time {:.2f})\n",
             quiver_build, hnswlib_build, quiver_build / hnswlib_build);
  fmt::print(
      "memory: quiver index file {:.1f} MiB (graph; vectors stay in the segment, {:.1f} MiB), "
      "hnswlib index with vectors {:.1f} MiB\n",
      ours->bytes() / 1048576.0, n * dims * 4 / 1048576.0, hnswlib_memory / 1048576.0);

  auto recall_of = [&](size_t q, const std::set<uint32_t>& got) {
    size_t hits = 0;
    for (size_t i = 0; i < 10; ++i) hits += got.count(static_cast<uint32_t>(truth[q * gdims + i]));
    return hits;
  };
  // Exact re-ranking as the table does it: candidates rescored, best 10 kept.
  auto rerank = [&](const float* q, const std::vector<qi::ScoredRow>& found) {
    std::vector<std::pair<float, uint32_t>> scored;
    scored.reserve(found.size());
    for (const auto& r : found)
      scored.emplace_back(quiver::kernels::Active().l2_squared(q, base.data() + r.row * dims, dims),
                          r.row);
    const size_t keep = std::min<size_t>(10, scored.size());
    std::partial_sort(scored.begin(), scored.begin() + keep, scored.end());
    std::set<uint32_t> got;
    for (size_t i = 0; i < keep; ++i) got.insert(scored[i].second);
    return got;
  };
  auto ours_pass = [&](const qi::VectorIndex& index, size_t ef) {
    return Pass{ef, queries_used, [&index, ef, &queries, &recall_of, &rerank, queries_used, qdims] {
                  size_t hits = 0;
                  for (size_t q = 0; q < queries_used; ++q) {
                    const float* query = queries.data() + q * qdims;
                    qi::IndexQuery params;
                    params.k = 10;
                    params.ef = ef;
                    hits += recall_of(q, rerank(query, index.Search({query, nullptr}, params)));
                  }
                  return hits;
                }};
  };
  auto hnswlib_pass = [&](size_t ef) {
    return Pass{ef, queries_used, [&, ef] {
                  peer.setEf(ef);
                  size_t hits = 0;
                  for (size_t q = 0; q < queries_used && !filtered_only; ++q) {
                    auto result = peer.searchKnn(queries.data() + q * qdims, 10);
                    std::set<uint32_t> got;
                    while (!result.empty()) {
                      got.insert(static_cast<uint32_t>(result.top().second));
                      result.pop();
                    }
                    hits += recall_of(q, got);
                  }
                  return hits;
                }};
  };

  // Ours and hnswlib alternate point by point, in one sweep.
  std::vector<Pass> passes;
  for (size_t ef : efs) {
    passes.push_back(ours_pass(*ours, ef));
    passes.push_back(hnswlib_pass(ef));
  }
  const std::vector<Point> both = MedianSweep(passes, 2);
  std::vector<Point> quiver_curve, hnswlib_curve;
  for (size_t i = 0; i < both.size(); i += 2) {
    quiver_curve.push_back(both[i]);
    hnswlib_curve.push_back(both[i + 1]);
  }
  fmt::print(
      "QPS: median of {} sweeps over all points (ours and hnswlib alternating), after one "
      "untimed warm-up pass per index\n",
      kRepeats);
  fmt::print("{:>5} | {:>13} {:>10} | {:>14} {:>10}\n", "ef", "quiver recall", "QPS",
             "hnswlib recall", "QPS");
  for (size_t i = 0; i < efs.size(); ++i) {
    fmt::print("{:>5} | {:>13.4f} {:>10.0f} | {:>14.4f} {:>10.0f}\n", efs[i],
               quiver_curve[i].recall, quiver_curve[i].qps, hnswlib_curve[i].recall,
               hnswlib_curve[i].qps);
  }

  if (sq8 && !filtered_only) {
    double sq8_build = 0;
    const auto quantized = build(quiver::IndexType::kHnswSq8, &sq8_build);
    fmt::print(
        "\nHNSW_SQ8 (graph walked over 8-bit codes, candidates re-ranked exactly): build "
        "{:.1f} s, index file {:.1f} MiB\n",
        sq8_build, quantized->bytes() / 1048576.0);
    std::vector<Pass> sq8_passes;
    sq8_passes.reserve(efs.size());
    for (size_t ef : efs) sq8_passes.push_back(ours_pass(*quantized, ef));
    const std::vector<Point> sq8_curve = MedianSweep(sq8_passes, 1);
    fmt::print("{:>5} | {:>13} {:>10}\n", "ef", "recall", "QPS");
    for (const Point& p : sq8_curve)
      fmt::print("{:>5} | {:>13.4f} {:>10.0f}\n", p.ef, p.recall, p.qps);
    fmt::print("HNSW_SQ8/hnswlib qps ratio at recall@10 0.95: {:.2f}\n",
               QpsAt(sq8_curve, 0.95) / QpsAt(hnswlib_curve, 0.95));
  }

  // Filtered search: a random `selectivity` of the rows is allowed; ground
  // truth is the exact filtered top 10. Compared with unfiltered search at
  // the same recall (0.95), each walk forced and as the index picks it.
  const double unfiltered_qps = QpsAt(quiver_curve, 0.95);
  filtered_queries = std::min(filtered_queries, queries_used);
  fmt::print(
      "\nfiltered search (HNSW, {} queries): recall@10 / QPS per ef; the exact scan takes "
      "over below the PreferExactScan line\n",
      filtered_queries);
  for (double selectivity : {0.5, 0.1, 0.01}) {
    std::mt19937_64 rng(7);
    std::bernoulli_distribution keep(selectivity);
    std::vector<uint8_t> allowed(n);
    for (auto& a : allowed) a = keep(rng) ? 1 : 0;
    std::vector<std::set<uint32_t>> exact(filtered_queries);
    for (size_t q = 0; q < filtered_queries; ++q) {
      qi::IndexQuery params;
      params.allowed = allowed;
      for (const auto& r : qi::ExactScan(set, {queries.data() + q * qdims, nullptr}, params))
        exact[q].insert(r.row);
    }
    using Walk = qi::IndexQuery::Walk;
    for (auto [walk, name] :
         {std::pair{Walk::kMeasure, "measure rejected"}, std::pair{Walk::kTwoHop, "two-hop"},
          std::pair{Walk::kAuto, "auto"}}) {
      std::vector<Pass> walk_passes;
      const Walk mode = walk;  // a structured binding cannot be captured before C++20's clang
      for (size_t ef : {10, 16, 24, 32, 48, 64, 96, 128}) {
        walk_passes.push_back({ef, filtered_queries, [&, ef, mode] {
                                 qi::IndexQuery params;
                                 params.ef = ef;
                                 params.allowed = allowed;
                                 params.walk = mode;
                                 size_t hits = 0;
                                 for (size_t q = 0; q < filtered_queries; ++q) {
                                   const float* query = queries.data() + q * qdims;
                                   for (const auto& r : ours->Search({query, nullptr}, params))
                                     hits += exact[q].count(r.row);
                                 }
                                 return hits;
                               }});
      }
      const std::vector<Point> curve = MedianSweep(walk_passes, 1);
      std::string line;
      for (const Point& p : curve) line += fmt::format(" {}:{:.3f}/{:.0f}", p.ef, p.recall, p.qps);
      // A curve that starts above 0.95 (the exact scan) counts its first point.
      double at = QpsAt(curve, 0.95);
      if (std::isnan(at) && curve.front().recall >= 0.95) at = curve.front().qps;
      fmt::print("{:>4.0f}% {:<17}|{}\n      QPS at recall 0.95: {:.0f} = {:.2f}x unfiltered\n",
                 selectivity * 100, name, line, at, at / unfiltered_qps);
    }
  }
  fmt::print("\npeak resident memory of this process: {:.0f} MiB\n",
             quiver::PeakResidentBytes() / 1048576.0);
  if (filtered_only) return 0;
  const double a = QpsAt(quiver_curve, 0.95), b = QpsAt(hnswlib_curve, 0.95);
  fmt::print("QPS at recall@10 0.95: quiver {:.0f}, hnswlib {:.0f}\n", a, b);
  fmt::print("quiver/hnswlib qps ratio at recall@10 0.95: {:.2f}\n", a / b);
  return 0;
}
