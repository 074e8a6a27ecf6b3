// Storage benchmarks (issue 3): durable ingest through the engine, restart
// time with rows sealed vs. only in the WAL, and disk bytes per row.
//
// The peer for ingest is the physical limit measured in the same process:
// appending the same number of bytes to one file with one fdatasync per
// batch. Absolute numbers are noisy; the ratio is the figure to compare.
//
//   build/bin/quiver_storage_bench [--rows N] [--dims D] [--threads T] [--dir PATH]

#include <fmt/format.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "engine/table.h"
#include "io/file_system.h"

namespace {

using Clock = std::chrono::steady_clock;
using quiver::Table;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

quiver::TableSchema Schema(uint32_t dims) {
  quiver::TableSchema schema{"bench",
                             {{"id", quiver::DataType::kBigInt, true},
                              {"bucket", quiver::DataType::kInt},
                              {"v", quiver::DataType::kVectorFloat, false, dims}}};
  (void)quiver::ValidateAndNormalize(&schema);
  return schema;
}

std::vector<quiver::RecordBatch> MakeBatches(const quiver::TableSchema& schema, size_t rows,
                                             size_t batch_rows) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> uni(0, 1);
  std::vector<quiver::RecordBatch> batches;
  const uint32_t dims = schema.fields[2].dimensions;
  std::vector<float> v(dims);
  for (size_t start = 0; start < rows; start += batch_rows) {
    auto batch = quiver::RecordBatch::ForSchema(schema);
    for (size_t r = start; r < std::min(rows, start + batch_rows); ++r) {
      batch.columns[0].AppendInt(static_cast<int64_t>(r));
      batch.columns[1].AppendInt(static_cast<int64_t>(r % 100));
      for (auto& x : v) x = uni(rng);
      batch.columns[2].AppendVector(v);
    }
    batches.push_back(std::move(batch));
  }
  return batches;
}

double Ingest(Table& table, const std::vector<quiver::RecordBatch>& batches, int threads) {
  std::atomic<size_t> next{0};
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (size_t i; (i = next++) < batches.size();) {
        auto done = table.Insert(batches[i], false);
        if (!done.ok()) {
          fmt::print(stderr, "insert failed: {}\n", done.status().ToString());
          std::exit(1);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  return Seconds(start);
}

// The same bytes, appended to one file with an fdatasync per batch.
double RawAppend(quiver::FileSystem& fs, const std::string& path, size_t batches,
                 size_t batch_bytes) {
  const std::string chunk(batch_bytes, 'x');
  auto file = std::move(fs.OpenWritable(path, true).value());
  const auto start = Clock::now();
  for (size_t i = 0; i < batches; ++i) {
    (void)file->Append(chunk);
    (void)file->Sync();
  }
  return Seconds(start);
}

uint64_t DiskBytes(const std::string& dir) {
  uint64_t bytes = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) bytes += e.file_size();
  }
  return bytes;
}

// Heap bytes in use (glibc's mallinfo2: small blocks and mmapped ones), MiB.
double HeapMib() {
  const struct mallinfo2 info = mallinfo2();
  return double(info.uordblks + info.hblkhd) / (1 << 20);
}

// The peak of heap bytes in use while `work` runs, above what was in use
// before (sampled every 0.2 ms by another thread).
template <class Work>
double PeakHeapRiseMib(Work work) {
  std::atomic<bool> done{false};
  const double before = HeapMib();
  double peak = before;
  std::thread sampler([&] {
    while (!done.load()) {
      peak = std::max(peak, HeapMib());
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  work();
  done = true;
  sampler.join();
  return std::max(peak, HeapMib()) - before;
}

std::unique_ptr<Table> OpenTable(quiver::FileSystem& fs, const std::string& dir,
                                 const quiver::TableSchema& schema, size_t seal_rows,
                                 uint32_t shards = 1) {
  quiver::TableOptions options;
  options.seal_rows = seal_rows;
  options.seal_bytes = size_t{1} << 40;
  auto table = Table::Open(&fs, dir, schema, options, quiver::SlotMap::Even(shards));
  if (!table.ok()) {
    fmt::print(stderr, "open failed: {}\n", table.status().ToString());
    std::exit(1);
  }
  return std::move(table).value();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Quiver storage benchmarks"};
  size_t rows = 200000;
  uint32_t dims = 128;
  int threads = 4;
  size_t batch_rows = 1000;
  std::string base = "bench-data";
  app.add_option("--rows", rows, "Rows to ingest")->capture_default_str();
  app.add_option("--dims", dims, "Vector dimensions")->capture_default_str();
  app.add_option("--threads", threads, "Concurrent writers")->capture_default_str();
  app.add_option("--batch", batch_rows, "Rows per insert")->capture_default_str();
  app.add_option("--dir", base, "Scratch directory (on the disk to measure)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  auto fs = quiver::NewPosixFileSystem();
  std::filesystem::remove_all(base);
  std::filesystem::create_directories(base);
  const auto schema = Schema(dims);
  const auto batches = MakeBatches(schema, rows, batch_rows);
  const double raw_row_bytes = 8 + 4 + dims * 4.0;

  // 1. Durable ingest, everything in the WAL (no seal), then its restart.
  const std::string wal_dir = base + "/wal-only";
  double ingest_seconds;
  {
    auto table = OpenTable(*fs, wal_dir, schema, rows * 2);
    ingest_seconds = Ingest(*table, batches, threads);
  }
  auto start = Clock::now();
  size_t replayed;
  {
    auto table = OpenTable(*fs, wal_dir, schema, rows * 2);
    replayed = table->Stats()->live_rows;
  }
  const double restart_wal = Seconds(start);
  const uint64_t wal_bytes = DiskBytes(wal_dir);

  // 2. The same rows sealed (segments of 100k rows), then its restart.
  const std::string sealed_dir = base + "/sealed";
  double seal_seconds, seal_rise, get_rise;
  size_t sealed_once = 0;
  {
    auto table = OpenTable(*fs, sealed_dir, schema, 100000);
    (void)Ingest(*table, batches, threads);
    // The extra memory a seal needs beyond the rows it seals (streamed: one
    // scalar column and 1 MiB of vectors at a time, not a second copy).
    sealed_once = table->Stats()->growing_rows;
    start = Clock::now();
    seal_rise = PeakHeapRiseMib([&] { (void)table->Seal(); });
    // The sampler's yardstick: a full get materialises every row as values.
    get_rise = PeakHeapRiseMib([&] { (void)table->Get({}); });
    while (table->Stats()->growing_rows > 0) (void)table->Seal();
    seal_seconds = Seconds(start);
  }
  start = Clock::now();
  size_t loaded;
  {
    auto table = OpenTable(*fs, sealed_dir, schema, 100000);
    loaded = table->Stats()->live_rows;
  }
  const double restart_sealed = Seconds(start);
  const uint64_t sealed_bytes = DiskBytes(sealed_dir);

  // 3. The same ingest into a table of 4 shards (one log each, synced in
  // parallel), in the same run.
  const std::string sharded_dir = base + "/sharded";
  double sharded_seconds;
  {
    auto table = OpenTable(*fs, sharded_dir, schema, rows * 2, 4);
    sharded_seconds = Ingest(*table, batches, threads);
  }

  // 4. The peer: the same bytes appended with one fdatasync per batch, in
  // one thread (group commit lets Quiver's writers share syncs).
  const double raw_seconds = RawAppend(*fs, base + "/raw", batches.size(),
                                       static_cast<size_t>(raw_row_bytes * batch_rows));

  std::filesystem::remove_all(base);
  fmt::print("rows {} x {}-d, batches of {}, {} writer threads\n", rows, dims, batch_rows, threads);
  fmt::print("durable ingest through the engine: {:.0f} vectors/s ({:.2f} s)\n",
             rows / ingest_seconds, ingest_seconds);
  fmt::print("peer, raw append + fdatasync per batch: {:.0f} vectors/s\n", rows / raw_seconds);
  fmt::print("engine / raw append ratio: {:.2f}\n", raw_seconds / ingest_seconds);
  fmt::print("durable ingest into 4 shards: {:.0f} vectors/s, {:.2f}x one shard\n",
             rows / sharded_seconds, ingest_seconds / sharded_seconds);
  fmt::print("sealing {} rows ({:.1f} MiB of row data): heap in use rose by at most {:.1f} MiB\n",
             sealed_once, sealed_once * raw_row_bytes / (1 << 20), seal_rise);
  fmt::print("  (the same sampler during a full get of those rows: {:.1f} MiB)\n", get_rise);
  fmt::print("restart, {} rows only in the WAL: {:.3f} s\n", replayed, restart_wal);
  fmt::print("restart, {} rows sealed: {:.3f} s (sealing took {:.2f} s)\n", loaded, restart_sealed,
             seal_seconds);
  fmt::print("disk bytes per row: WAL {:.1f}, sealed {:.1f}, raw {:.1f} (sealed/raw {:.3f})\n",
             double(wal_bytes) / rows, double(sealed_bytes) / rows, raw_row_bytes,
             double(sealed_bytes) / rows / raw_row_bytes);
  return 0;
}
