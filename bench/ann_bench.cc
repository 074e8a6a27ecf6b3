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
#include <set>

#include "index/hnsw.h"
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

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

struct Base : quiver::index::RowDistance {
  const float* data;
  size_t rows, dims;
  size_t size() const override { return rows; }
  float Between(uint32_t a, uint32_t b) const override {
    return quiver::kernels::Active().l2_squared(data + a * dims, data + b * dims, dims);
  }
};

struct Query : quiver::index::QueryDistance {
  const Base* base;
  const float* q;
  float To(uint32_t row) const override {
    return quiver::kernels::Active().l2_squared(q, base->data + row * base->dims, base->dims);
  }
};

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Quiver HNSW vs hnswlib"};
  std::string dir;
  size_t m = 16, ef_construction = 200, queries_used = 1000;
  std::vector<size_t> efs = {10, 16, 24, 32, 48, 64, 96, 128, 192, 256};
  app.add_option("data", dir, "Directory with base.fvecs, query.fvecs, groundtruth.ivecs")
      ->required();
  app.add_option("--m", m)->capture_default_str();
  app.add_option("--ef-construction", ef_construction)->capture_default_str();
  app.add_option("--queries", queries_used, "Queries to time")->capture_default_str();
  app.add_option("--ef", efs, "ef values to sweep");
  CLI11_PARSE(app, argc, argv);

  size_t dims = 0, qdims = 0, gdims = 0;
  const auto base = ReadVecs<float>(dir + "/base.fvecs", &dims);
  const auto queries = ReadVecs<float>(dir + "/query.fvecs", &qdims);
  const auto truth = ReadVecs<int32_t>(dir + "/groundtruth.ivecs", &gdims);
  const size_t n = base.size() / dims;
  queries_used = std::min(queries_used, queries.size() / qdims);
  fmt::print("{} base vectors x {}-d, {} queries, M {}, efConstruction {}, kernels {}, 1 thread\n",
             n, dims, queries_used, m, ef_construction, quiver::kernels::Active().name);

  Base rows;
  rows.data = base.data();
  rows.rows = n;
  rows.dims = dims;
  size_t before = ResidentBytes();
  auto start = Clock::now();
  const auto graph = quiver::index::HnswGraph::Build(
      rows, {static_cast<uint32_t>(m), static_cast<uint32_t>(ef_construction), 100});
  const double quiver_build = Seconds(start);
  const size_t quiver_memory = ResidentBytes() - before;

  hnswlib::L2Space space(dims);
  before = ResidentBytes();
  start = Clock::now();
  hnswlib::HierarchicalNSW<float> peer(&space, n, m, ef_construction, 100);
  for (size_t i = 0; i < n; ++i) peer.addPoint(base.data() + i * dims, i);
  const double hnswlib_build = Seconds(start);
  const size_t hnswlib_memory = ResidentBytes() - before;
  fmt::print(
      "build: quiver {:.1f} s, hnswlib {:.1f} s (ratio {:.2f}); memory: quiver graph {:.0f} MiB, "
      "hnswlib index with vectors {:.0f} MiB\n",
      quiver_build, hnswlib_build, quiver_build / hnswlib_build, quiver_memory / 1048576.0,
      hnswlib_memory / 1048576.0);

  auto recall_of = [&](size_t q, const std::set<uint32_t>& got) {
    size_t hits = 0;
    for (size_t i = 0; i < 10; ++i) hits += got.count(static_cast<uint32_t>(truth[q * gdims + i]));
    return hits;
  };
  std::vector<Point> ours, theirs;
  fmt::print("{:>5} | {:>13} {:>10} | {:>13} {:>10}\n", "ef", "quiver recall", "QPS",
             "hnswlib recall", "QPS");
  quiver::index::HnswSearchContext context;
  for (size_t ef : efs) {
    size_t hits = 0;
    start = Clock::now();
    for (size_t q = 0; q < queries_used; ++q) {
      Query query;
      query.base = &rows;
      query.q = queries.data() + q * qdims;
      std::set<uint32_t> got;
      for (const auto& r : graph.Search(query, 10, ef, {}, &context)) got.insert(r.row);
      hits += recall_of(q, got);
    }
    ours.push_back({ef, hits / (10.0 * queries_used), queries_used / Seconds(start)});
    peer.setEf(ef);
    hits = 0;
    start = Clock::now();
    for (size_t q = 0; q < queries_used; ++q) {
      auto result = peer.searchKnn(queries.data() + q * qdims, 10);
      std::set<uint32_t> got;
      while (!result.empty()) {
        got.insert(static_cast<uint32_t>(result.top().second));
        result.pop();
      }
      hits += recall_of(q, got);
    }
    theirs.push_back({ef, hits / (10.0 * queries_used), queries_used / Seconds(start)});
    fmt::print("{:>5} | {:>13.4f} {:>10.0f} | {:>13.4f} {:>10.0f}\n", ef, ours.back().recall,
               ours.back().qps, theirs.back().recall, theirs.back().qps);
  }
  const double a = QpsAt(ours, 0.95), b = QpsAt(theirs, 0.95);
  fmt::print("QPS at recall@10 0.95: quiver {:.0f}, hnswlib {:.0f}\n", a, b);
  fmt::print("quiver/hnswlib qps ratio at recall@10 0.95: {:.2f}\n", a / b);
  return 0;
}
