// Reads and writes under concurrent heavy work (issue 11): do small queries
// and single-row inserts wait behind a full-table get, or behind a
// compaction?
//
// One table of --rows x --dims rows in 4 sealed, HNSW-indexed segments. In
// each phase one thread inserts a single row every 10 ms and one runs top-10
// queries back to back, for --seconds; their latencies are reported as
// p50 / p99 / max. Phases, in one run: quiet (nothing else), full get (a
// third thread reads every row, all fields, in a loop), compaction (the 4
// segments merged into one while the other two go on). Target: while the
// heavy work runs, the max latency of a small query or an insert stays below
// the duration of one full get (today they queue behind it).
//
//   build/bin/quiver_concurrency_bench [--rows N] [--dims D] [--seconds S] [--dir PATH]
//
// An insert includes its fdatasync; with --dir on tmpfs (/dev/shm/...) only
// the waiting on locks is left.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "engine/table.h"
#include "io/file_system.h"

namespace {

using Clock = std::chrono::steady_clock;

double Millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

quiver::TableSchema Schema(uint32_t dims) {
  quiver::Field vector{"v", quiver::DataType::kVectorFloat, false, dims};
  vector.index.type = quiver::IndexType::kHnsw;
  vector.index.ef_construction = 100;
  quiver::TableSchema schema{
      "bench",
      {{"id", quiver::DataType::kBigInt, true}, {"bucket", quiver::DataType::kInt}, vector}};
  (void)quiver::ValidateAndNormalize(&schema);
  return schema;
}

std::vector<float> RandomVector(uint32_t dims, std::mt19937* rng) {
  std::uniform_real_distribution<float> uni(0, 1);
  std::vector<float> v(dims);
  for (float& x : v) x = uni(*rng);
  return v;
}

quiver::RecordBatch Rows(const quiver::TableSchema& schema, int64_t first, size_t count,
                         std::mt19937* rng) {
  auto batch = quiver::RecordBatch::ForSchema(schema);
  for (size_t i = 0; i < count; ++i) {
    batch.columns[0].AppendInt(first + static_cast<int64_t>(i));
    batch.columns[1].AppendInt((first + static_cast<int64_t>(i)) % 100);
    batch.columns[2].AppendVector(RandomVector(schema.fields[2].dimensions, rng));
  }
  return batch;
}

struct Latencies {
  std::vector<double> ms;
  std::string Summary() {
    if (ms.empty()) return "none";
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) { return ms[std::min(ms.size() - 1, size_t(q * double(ms.size())))]; };
    return fmt::format("n {:>6}  p50 {:>8.2f}  p99 {:>8.2f}  max {:>8.2f} ms", ms.size(), at(0.5),
                       at(0.99), ms.back());
  }
  double Max() const { return ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end()); }
};

struct PhaseResult {
  Latencies queries, inserts, heavy;  // heavy: each full get, or the compaction
};

// Runs the query and insert clients until `done` turns true, and `heavy`
// (when set) in a third thread as often as it fits.
PhaseResult RunPhase(quiver::Table& table, const quiver::TableSchema& schema, double seconds,
                     const std::function<void()>& heavy, bool heavy_once, int64_t* next_key) {
  PhaseResult result;
  std::atomic<bool> done{false};
  std::thread inserter([&] {
    std::mt19937 rng(static_cast<uint32_t>(*next_key));
    auto next = Clock::now();
    while (!done) {
      const auto batch = Rows(schema, (*next_key)++, 1, &rng);
      const auto start = Clock::now();
      if (!table.Insert(batch, false).ok()) std::abort();
      result.inserts.ms.push_back(Millis(Clock::now() - start));
      next += std::chrono::milliseconds(10);
      std::this_thread::sleep_until(next);
    }
  });
  std::thread querier([&] {
    std::mt19937 rng(7);
    while (!done) {
      quiver::SearchRequest request;
      request.vector = RandomVector(schema.fields[2].dimensions, &rng);
      request.limit = 10;
      request.response = {"id"};
      const auto start = Clock::now();
      if (!table.Search(request).ok()) std::abort();
      result.queries.ms.push_back(Millis(Clock::now() - start));
    }
  });
  std::thread heavy_worker;
  if (heavy) {
    heavy_worker = std::thread([&] {
      do {
        const auto start = Clock::now();
        heavy();
        result.heavy.ms.push_back(Millis(Clock::now() - start));
      } while (!done && !heavy_once);
    });
  }
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  // A compaction runs to its end even if it outlasts the phase.
  std::this_thread::sleep_until(end);
  if (heavy_worker.joinable() && heavy_once) heavy_worker.join();
  done = true;
  inserter.join();
  querier.join();
  if (heavy_worker.joinable()) heavy_worker.join();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Quiver: small queries and inserts under a full get and a compaction"};
  size_t rows = 100000;
  uint32_t dims = 128;
  double seconds = 10;
  std::string dir = "/tmp/quiver-concurrency-bench";
  app.add_option("--rows", rows)->capture_default_str();
  app.add_option("--dims", dims)->capture_default_str();
  app.add_option("--seconds", seconds, "Length of each phase")->capture_default_str();
  app.add_option("--dir", dir, "Scratch directory (removed first)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  std::filesystem::remove_all(dir);
  auto fs = quiver::NewPosixFileSystem();
  const quiver::TableSchema schema = Schema(dims);
  quiver::TableOptions options;
  options.seal_rows = 10 * rows;  // seals happen only where this benchmark asks
  options.max_segments = 100;
  auto opened = quiver::Table::Open(fs.get(), dir, schema, options);
  if (!opened.ok()) {
    fmt::print(stderr, "{}\n", opened.status().ToString());
    return 1;
  }
  auto& table = **opened;
  std::mt19937 rng(42);
  const size_t per_segment = rows / 4;
  auto setup_start = Clock::now();
  for (int s = 0; s < 4; ++s) {
    for (size_t done = 0; done < per_segment; done += 1000) {
      const size_t n = std::min<size_t>(1000, per_segment - done);
      if (!table.Insert(Rows(schema, int64_t(s * per_segment + done), n, &rng), false).ok())
        return 1;
    }
    if (!table.Seal().ok()) return 1;
  }
  if (!table.BuildAllIndexes().ok()) return 1;
  fmt::print(
      "{} rows x {}-d in 4 sealed segments with HNSW indexes (set up in {:.0f} s); "
      "phases of {} s; 1 thread inserts a row every 10 ms, 1 runs top-10 queries\n",
      rows, dims, Millis(Clock::now() - setup_start) / 1000, seconds);

  int64_t next_key = int64_t(rows) + 1'000'000;
  auto full_get = [&] {
    quiver::GetRequest request;  // every row, every field
    auto result = table.Get(request);
    if (!result.ok() || result->rows.size() < rows) std::abort();
  };
  auto compact = [&] {
    if (!table.Compact(/*force=*/true).ok()) std::abort();
  };
  PhaseResult quiet = RunPhase(table, schema, seconds, nullptr, false, &next_key);
  PhaseResult scans = RunPhase(table, schema, seconds, full_get, false, &next_key);
  PhaseResult merging = RunPhase(table, schema, seconds, compact, true, &next_key);

  auto print = [](const char* name, PhaseResult& r) {
    fmt::print("\n{}\n  queries  {}\n  inserts  {}\n", name, r.queries.Summary(),
               r.inserts.Summary());
    if (!r.heavy.ms.empty()) fmt::print("  heavy    {}\n", r.heavy.Summary());
  };
  print("quiet", quiet);
  print("while full gets run (heavy = one full get)", scans);
  print("while 4 segments are compacted into one (heavy = the compaction)", merging);
  const double scan = scans.heavy.ms.empty() ? 0 : scans.heavy.ms[scans.heavy.ms.size() / 2];
  fmt::print(
      "\ntarget: max query / insert latency while full gets run below one full get ({:.0f} ms "
      "median): queries {:.0f} ms, inserts {:.0f} ms -> {}\n",
      scan, scans.queries.Max(), scans.inserts.Max(),
      std::max(scans.queries.Max(), scans.inserts.Max()) < scan ? "met" : "NOT met");
  std::filesystem::remove_all(dir);
  return 0;
}
