// Randomized oracle: random tables, random filters. The column-at-a-time
// evaluator must agree with the row-wise reference evaluator on every row,
// and filtered exact search must equal a brute-force reference exactly,
// ties broken by primary key.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "engine/table.h"
#include "expr/filter.h"
#include "test_util.h"

namespace quiver {
namespace {

TableSchema Schema() {
  TableSchema schema{"t",
                     {{"id", DataType::kBigInt, true},
                      {"i", DataType::kInt},
                      {"d", DataType::kDouble},
                      {"s", DataType::kString},
                      {"b", DataType::kBool},
                      {"v", DataType::kVectorFloat, false, 2, Metric::kEuclidean},
                      {"f", DataType::kFloat},
                      {"u", DataType::kString}}};
  EXPECT_TRUE(ValidateAndNormalize(&schema).ok());
  return schema;
}

const char* const kStrings[] = {"", "a", "ab", "abc", "b%", "x_y", "o'k", "zz"};
// Multi-byte characters, and the escape character used below.
const char* const kUnicode[] = {"héllo", "hello", "日本", "日", "a\\%b", "a%b", "Zürich", "é"};

RecordBatch RandomRows(const TableSchema& schema, size_t n, std::mt19937* rng) {
  RecordBatch batch = RecordBatch::ForSchema(schema);
  auto maybe_null = [&] { return (*rng)() % 5 == 0; };
  for (size_t r = 0; r < n; ++r) {
    auto& c = batch.columns;
    c[0].AppendInt(static_cast<int64_t>(r * 3 + 1));
    maybe_null() ? c[1].AppendNull() : c[1].AppendInt(static_cast<int64_t>((*rng)() % 11) - 5);
    maybe_null() ? c[2].AppendNull()
                 : c[2].AppendDouble((static_cast<int>((*rng)() % 13) - 6) * 0.5);
    maybe_null() ? c[3].AppendNull() : c[3].AppendString(kStrings[(*rng)() % 8]);
    maybe_null() ? c[4].AppendNull() : c[4].AppendInt((*rng)() % 2);
    const float v[2] = {float((*rng)() % 5), float((*rng)() % 5)};  // many exact ties
    c[5].AppendVector(v);
    maybe_null() ? c[6].AppendNull()
                 : c[6].AppendDouble((static_cast<int>((*rng)() % 13) - 6) * 0.1);  // float32
    maybe_null() ? c[7].AppendNull() : c[7].AppendString(kUnicode[(*rng)() % 8]);
  }
  return batch;
}

// Generates type-correct filter text from the grammar.
class FilterGenerator {
 public:
  explicit FilterGenerator(std::mt19937* rng) : rng_(*rng) {}

  std::string Condition(int depth) {
    const int pick = static_cast<int>(rng_() % (depth <= 0 ? 9 : 13));
    switch (pick) {
      case 9:
        return "NOT (" + Condition(depth - 1) + ")";
      case 10:
        return "(" + Condition(depth - 1) + ") AND (" + Condition(depth - 1) + ")";
      case 11:
        return "(" + Condition(depth - 1) + ") OR (" + Condition(depth - 1) + ")";
      case 12:
        return Condition(depth - 1) + (rng_() % 2 ? " AND " : " OR ") + Condition(depth - 1);
      case 0:
        return Numeric(depth - 1) + " " + CompareOp() + " " + Numeric(depth - 1);
      case 1:
        return "s " + std::string(rng_() % 2 ? "=" : "<>") + " " + StringLiteral();
      case 2:
        return "s" + std::string(rng_() % 3 == 0 ? " NOT" : "") + " LIKE " + Pattern();
      case 3:
        return rng_() % 2 ? "b" : "b = " + std::string(rng_() % 2 ? "TRUE" : "false");
      case 4:
        return InList();
      case 5:  // IS [NOT] NULL of a column, an expression or a condition
        return IsNull(depth);
      case 6:
        return Numeric(depth - 1) + (rng_() % 3 == 0 ? " NOT" : "") + " BETWEEN " +
               Numeric(depth - 1) + " AND " + Numeric(depth - 1);
      case 7:  // FLOAT against decimal literals (rounded to float32)
        return "f " + CompareOp() + " " + FloatLiteral();
      default:
        return "u" + std::string(rng_() % 3 == 0 ? " NOT" : "") + " LIKE " + UnicodePattern();
    }
  }

 private:
  std::string Numeric(int depth) {
    const int pick = static_cast<int>(rng_() % (depth <= 0 ? 4 : 8));
    switch (pick) {
      case 0:
        return "i";
      case 1:
        return "d";
      case 2:
        return std::to_string(static_cast<int>(rng_() % 11) - 5);
      case 3:
        return std::to_string((static_cast<int>(rng_() % 9) - 4) * 0.5);
      case 7:
        return "f";
      case 4:
        return "(" + Numeric(depth - 1) + " " + "+-*/"[rng_() % 4] + " " + Numeric(depth - 1) + ")";
      case 5:
        return "(i % " + std::to_string(static_cast<int>(rng_() % 5) - 2) + ")";
      default:
        return "-" + Numeric(depth - 1);
    }
  }
  std::string IsNull(int depth) {
    const std::string is = rng_() % 2 ? " IS NULL" : " IS NOT NULL";
    switch (rng_() % 4) {
      case 0:
        return std::string(1, "ibdsfu"[rng_() % 6]) + is;
      case 1:
        return Numeric(depth - 1) + is;
      case 2:
        return "(" + Condition(depth - 1) + ")" + is;
      default:
        return "f" + is;
    }
  }
  std::string FloatLiteral() {
    static const char* const literals[] = {"0.1", "-0.3", "0.5", "1e38", "0.2", "-0.6", "0", "3"};
    return literals[rng_() % 8];
  }
  std::string UnicodePattern() {
    static const char* const patterns[] = {
        "'h_llo'",           "'_'",      "'日_'", "'%_'", "'a\\%b' ESCAPE '\\'",
        "'a!%b' ESCAPE '!'", "'Z_rich'", "'%é%'"};
    return patterns[rng_() % 8];
  }
  std::string CompareOp() {
    static const char* const ops[] = {"=", "<>", "<", "<=", ">", ">="};
    return ops[rng_() % 6];
  }
  std::string StringLiteral() {
    std::string out = "'";
    for (char ch : std::string(kStrings[rng_() % 8])) out += ch == '\'' ? "''" : std::string(1, ch);
    return out + "'";
  }
  std::string Pattern() {
    static const char* const patterns[] = {"'a%'",  "'%b'",   "'_'",   "'%'",
                                           "'a_c'", "'%''%'", "'x%y'", "''"};
    return patterns[rng_() % 8];
  }
  std::string InList() {
    if (rng_() % 2)
      return std::string("i") + (rng_() % 3 == 0 ? " NOT" : "") + " IN (-1, 0, 2, 4.0)";
    return std::string("s") + (rng_() % 3 == 0 ? " NOT" : "") + " IN ('a', 'zz', '')";
  }
  std::mt19937& rng_;
};

TEST(FilterOracle, ColumnEvaluationAgreesWithRowEvaluationOnRandomFilters) {
  std::mt19937 rng(2024);
  const TableSchema schema = Schema();
  FilterGenerator generate(&rng);
  size_t checked = 0, matched = 0;
  for (int table = 0; table < 5; ++table) {
    const RecordBatch rows = RandomRows(schema, 1500 + table * 700, &rng);  // spans chunks
    for (int f = 0; f < 400; ++f) {
      const std::string text = generate.Condition(3);
      auto filter = Filter::Parse(text, schema, FilterScope::kRows);
      ASSERT_TRUE(filter.ok()) << text << ": " << filter.status().ToString();
      std::vector<uint8_t> batch;
      filter->EvaluateBatch(rows.columns, rows.num_rows(), &batch);
      ASSERT_EQ(batch.size(), rows.num_rows());
      for (size_t r = 0; r < rows.num_rows(); ++r) {
        const bool reference = filter->Matches({rows.columns, r, 0});
        ASSERT_EQ(batch[r] != 0, reference) << "filter: " << text << "\nrow " << r;
        matched += reference;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2000u);
  EXPECT_GT(matched, 0u);
}

TEST(FilterOracle, FilteredSearchEqualsBruteForceIncludingTies) {
  std::mt19937 rng(7);
  const TableSchema schema = Schema();
  FilterGenerator generate(&rng);
  testing::TempDir dir(true);
  auto fs = NewPosixFileSystem();
  TableOptions options;
  options.seal_rows = 150;
  auto table = std::move(Table::Open(fs.get(), dir.path(), schema, options).value());
  const RecordBatch rows = RandomRows(schema, 400, &rng);
  ASSERT_TRUE(table->Insert(rows, false).ok());
  ASSERT_TRUE(table->Seal().ok());  // the search spans a sealed and a growing segment
  for (int q = 0; q < 300; ++q) {
    const std::string text = generate.Condition(2);
    auto filter = Filter::Parse(text, schema, FilterScope::kRows);
    ASSERT_TRUE(filter.ok());
    const std::vector<float> query = {float(rng() % 5), float(rng() % 5)};
    std::vector<std::pair<float, int64_t>> expected;
    for (size_t r = 0; r < rows.num_rows(); ++r) {
      if (!filter->Matches({rows.columns, r, 0})) continue;
      const auto v = rows.columns[5].GetVector(r);
      const float d = (v[0] - query[0]) * (v[0] - query[0]) + (v[1] - query[1]) * (v[1] - query[1]);
      expected.emplace_back(d, rows.columns[0].GetInt(r));
    }
    std::sort(expected.begin(), expected.end());
    const size_t limit = 1 + rng() % 25;
    if (expected.size() > limit) expected.resize(limit);
    auto result = table->Search({"v", query, limit, text, {"id"}, true});
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    std::vector<std::pair<float, int64_t>> got;
    for (size_t i = 0; i < result->rows.size(); ++i) {
      got.emplace_back(result->distances[i], std::get<int64_t>(result->rows[i][0]));
    }
    ASSERT_EQ(got, expected) << "filter: " << text;
  }
}

}  // namespace
}  // namespace quiver
