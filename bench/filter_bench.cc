// Filter evaluation throughput (rows/s): column at a time (what the engine
// uses) against the row-at-a-time tree walk, over 1M rows with nulls.
//
//   build/bin/quiver_filter_bench

#include <benchmark/benchmark.h>

#include <random>

#include "expr/filter.h"

namespace {

constexpr size_t kRows = 1 << 20;

struct Data {
  quiver::TableSchema schema{"t",
                             {{"id", quiver::DataType::kBigInt, true},
                              {"age", quiver::DataType::kInt},
                              {"price", quiver::DataType::kDouble},
                              {"name", quiver::DataType::kString},
                              {"active", quiver::DataType::kBool}}};
  quiver::RecordBatch rows = quiver::RecordBatch::ForSchema(schema);

  Data() {
    std::mt19937 rng(1);
    const char* names[] = {"alice", "bob", "carol", "dave", "anna", "zed"};
    for (size_t r = 0; r < kRows; ++r) {
      auto& c = rows.columns;
      c[0].AppendInt(static_cast<int64_t>(r));
      rng() % 10 == 0 ? c[1].AppendNull() : c[1].AppendInt(rng() % 90);
      c[2].AppendDouble((rng() % 10000) / 100.0);
      c[3].AppendString(names[rng() % 6]);
      c[4].AppendInt(rng() % 2);
    }
  }
};

const Data& Shared() {
  static const Data data;
  return data;
}

void Run(benchmark::State& state, const char* text, bool by_column) {
  const Data& data = Shared();
  auto filter = quiver::Filter::Parse(text, data.schema, quiver::FilterScope::kRows);
  if (!filter.ok()) {
    state.SkipWithError(filter.status().ToString().c_str());
    return;
  }
  std::vector<uint8_t> out(kRows);
  for (auto _ : state) {
    if (by_column) {
      filter->EvaluateBatch(data.rows.columns, kRows, &out);
    } else {
      for (size_t r = 0; r < kRows; ++r) out[r] = filter->Matches({data.rows.columns, r, 0});
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
}

const char* const kFilters[] = {
    "age > 30",
    "price * 2 < 50 AND age <> 0",
    "name LIKE 'a%'",
    "age IN (1, 2, 3) OR active",
    "NOT (name = 'bob' OR price >= 99.5) AND age >= 18 AND age < 65",
};

void Register() {
  for (const char* text : kFilters) {
    const std::string filter = text;
    const char* stored = text;
    benchmark::RegisterBenchmark(("column/" + filter).c_str(), [stored](benchmark::State& s) {
      Run(s, stored, true);
    })->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("row/" + filter).c_str(), [stored](benchmark::State& s) {
      Run(s, stored, false);
    })->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Register();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
