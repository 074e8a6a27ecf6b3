// Fuzzes the filter language: any input must parse or be refused cleanly,
// and a filter that parses must give the same answer column at a time and
// row at a time on every row of a small table with nulls (a differential
// check: a disagreement traps).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "expr/filter.h"

namespace {

using namespace quiver;

struct Fixture {
  TableSchema schema{"t",
                     {{"id", DataType::kBigInt, true},
                      {"i", DataType::kInt},
                      {"d", DataType::kDouble},
                      {"s", DataType::kString},
                      {"b", DataType::kBool},
                      {"f", DataType::kFloat},
                      {"j", DataType::kJson},
                      {"v", DataType::kVectorFloat, false, 2, Metric::kEuclidean}}};
  RecordBatch rows = RecordBatch::ForSchema(schema);

  Fixture() {
    const int64_t ints[] = {0, 1, -1, 7, INT64_MIN, INT64_MAX, 42, -9};
    const double doubles[] = {0.0, -0.5, 1e308, -1e308, 3.25, 2.0, 1e-300, 100};
    const char* strings[] = {"", "a", "ab%", "x_y", "o'k", "zz", "\xff\xfe", "abc"};
    for (int r = 0; r < 8; ++r) {
      auto& c = rows.columns;
      c[0].AppendInt(r);
      r == 3 ? c[1].AppendNull() : c[1].AppendInt(ints[r]);
      r == 5 ? c[2].AppendNull() : c[2].AppendDouble(doubles[r]);
      r == 2 ? c[3].AppendNull() : c[3].AppendString(strings[r]);
      r == 6 ? c[4].AppendNull() : c[4].AppendInt(r % 2);
      c[5].AppendDouble(r * 0.25);
      c[6].AppendString("{}");
      const float v[2] = {float(r), 0};
      c[7].AppendVector(v);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture fixture;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (FilterScope scope : {FilterScope::kRows, FilterScope::kVectorQuery}) {
    auto filter = Filter::Parse(text, fixture.schema, scope);
    if (!filter.ok()) {
      if (filter.status().code() != StatusCode::kInvalidArgument) __builtin_trap();
      continue;
    }
    const size_t n = fixture.rows.num_rows();
    if (filter->UsesDistance()) {
      for (size_t r = 0; r < n; ++r) (void)filter->Matches({fixture.rows.columns, r, 0.5});
      continue;
    }
    std::vector<uint8_t> by_column;
    filter->EvaluateBatch(fixture.rows.columns, n, &by_column);
    for (size_t r = 0; r < n; ++r) {
      if ((by_column[r] != 0) != filter->Matches({fixture.rows.columns, r, 0})) __builtin_trap();
    }
  }
  return 0;
}
