// Runs tests/data/filters.txt: every filter against a fixed table.

#include "expr/filter.h"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace quiver {
namespace {

TableSchema FixtureSchema() {
  TableSchema schema{"people",
                     {{"id", DataType::kInt, true},
                      {"name", DataType::kString},
                      {"age", DataType::kInt},
                      {"score", DataType::kDouble},
                      {"active", DataType::kBool},
                      {"tag", DataType::kString},
                      {"vec", DataType::kVectorFloat, false, 2, Metric::kEuclidean},
                      {"meta", DataType::kJson},
                      {"weight", DataType::kFloat},
                      {"city", DataType::kString}}};
  return schema;
}

RecordBatch FixtureRows(const TableSchema& schema) {
  RecordBatch batch = RecordBatch::ForSchema(schema);
  struct Row {
    int64_t id;
    const char* name;
    std::optional<int64_t> age;
    double score;
    std::optional<bool> active;
    const char* tag;
    const char* meta;
    std::optional<double> weight;
    const char* city;
  };
  const Row rows[] = {
      {1, "alice", 25, 1.5, true, "x", R"({"color":"red","n":1,"tags":["a","b"],"ok":true})", 0.1,
       "héllo"},
      {2, "bob", 35, 2.5, false, "o'neil", R"({"color":"blue","n":2.5,"tags":[],"ok":false})", 1e38,
       "Zürich"},
      {3, "carol", {}, -1, true, nullptr, nullptr, {}, nullptr},
      {4, "dave", 45, 0, {}, "x_y", R"({"color":5,"nested":{"x":"y"},"ok":null})", 2.5, "日本"},
      {5, "eve%", 30, 10, false, "xay", R"({"n":"7","tags":["b"]})", -0.3, "a%b\\c"}};
  for (const Row& r : rows) {
    auto& c = batch.columns;
    c[0].AppendInt(r.id);
    c[1].AppendString(r.name);
    r.age ? c[2].AppendInt(*r.age) : c[2].AppendNull();
    c[3].AppendDouble(r.score);
    r.active ? c[4].AppendInt(*r.active) : c[4].AppendNull();
    r.tag ? c[5].AppendString(r.tag) : c[5].AppendNull();
    const float v[2] = {0, 0};
    c[6].AppendVector(v);
    r.meta ? c[7].AppendString(r.meta) : c[7].AppendNull();
    r.weight ? c[8].AppendDouble(*r.weight) : c[8].AppendNull();
    r.city ? c[9].AppendString(r.city) : c[9].AppendNull();
  }
  return batch;
}

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

TEST(FilterLanguage, DataDrivenCases) {
  const TableSchema schema = FixtureSchema();
  const RecordBatch rows = FixtureRows(schema);
  std::ifstream file(QUIVER_TEST_DATA_DIR "/filters.txt");
  ASSERT_TRUE(file.good()) << "missing filters.txt";
  std::string line;
  int cases = 0, line_no = 0;
  while (std::getline(file, line)) {
    ++line_no;
    if (Trim(line).empty() || Trim(line)[0] == '#') continue;
    const auto arrow = line.rfind("=>");
    ASSERT_NE(arrow, std::string::npos) << "line " << line_no;
    const std::string filter_text = Trim(line.substr(0, arrow));
    const std::string expected = Trim(line.substr(arrow + 2));
    SCOPED_TRACE("filters.txt:" + std::to_string(line_no) + ": " + filter_text);
    auto filter = Filter::Parse(filter_text, schema, FilterScope::kRows);
    if (expected.rfind("ERROR", 0) == 0) {
      ASSERT_FALSE(filter.ok()) << "expected an error";
      EXPECT_EQ(filter.status().code(), StatusCode::kInvalidArgument);
      const std::string& message = filter.status().message();
      const std::string position = "position " + Trim(expected.substr(5));
      const size_t at = message.find(position);
      ASSERT_NE(at, std::string::npos) << message;
      EXPECT_FALSE(std::isdigit(static_cast<unsigned char>(message[at + position.size()])))
          << message;
    } else {
      ASSERT_TRUE(filter.ok()) << filter.status().ToString();
      // Both evaluators: row by row, and column at a time.
      std::vector<uint8_t> batch;
      filter->EvaluateBatch(rows.columns, rows.num_rows(), &batch);
      std::string got, got_batch;
      for (size_t r = 0; r < rows.num_rows(); ++r) {
        const std::string id = std::to_string(rows.columns[0].GetInt(r));
        if (filter->Matches({rows.columns, r, 0})) got += (got.empty() ? "" : " ") + id;
        if (batch[r]) got_batch += (got_batch.empty() ? "" : " ") + id;
      }
      EXPECT_EQ(got_batch, got) << "the column-at-a-time evaluator disagrees";
      std::stringstream normalized;
      std::string token;
      std::stringstream in(expected);
      bool first = true;
      while (in >> token) {
        normalized << (first ? "" : " ") << token;
        first = false;
      }
      EXPECT_EQ(got, normalized.str());
    }
    ++cases;
  }
  EXPECT_GT(cases, 80);
}

TEST(FilterLanguage, DistanceIsAvailableInVectorQueries) {
  const TableSchema schema = FixtureSchema();
  const RecordBatch rows = FixtureRows(schema);
  auto filter = Filter::Parse("@distance < 2.5 AND id > 1", schema, FilterScope::kVectorQuery);
  ASSERT_TRUE(filter.ok()) << filter.status().ToString();
  EXPECT_TRUE(filter->UsesDistance());
  EXPECT_TRUE(filter->Matches({rows.columns, 1, 2.0}));
  EXPECT_FALSE(filter->Matches({rows.columns, 1, 3.0}));
  EXPECT_FALSE(filter->Matches({rows.columns, 0, 1.0}));
}

TEST(FilterLanguage, RefusesOverlongAndOverdeepFilters) {
  const TableSchema schema = FixtureSchema();
  std::string deep(kMaxFilterDepth + 5, '(');
  deep += "id = 1" + std::string(kMaxFilterDepth + 5, ')');
  auto nested = Filter::Parse(deep, schema, FilterScope::kRows);
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("deeper"), std::string::npos);

  std::string negations;
  for (int i = 0; i < 100000; ++i) negations += "NOT ";
  EXPECT_FALSE(Filter::Parse(negations + "active", schema, FilterScope::kRows).ok());

  std::string long_filter = "id IN (1";
  while (long_filter.size() <= kMaxFilterLength) long_filter += ", 1";
  long_filter += ")";
  EXPECT_FALSE(Filter::Parse(long_filter, schema, FilterScope::kRows).ok());
}

TEST(LikeMatch, HandlesBacktracking) {
  EXPECT_TRUE(LikeMatch("abcabcabd", "%abd"));
  EXPECT_TRUE(LikeMatch("", "%"));
  EXPECT_FALSE(LikeMatch("", "_"));
  EXPECT_TRUE(LikeMatch("aXbXc", "a%b%c"));
  EXPECT_FALSE(LikeMatch("abc", "a%d"));
}

TEST(LikeMatch, UnderscoreIsOneUtf8Character) {
  EXPECT_TRUE(LikeMatch("héllo", "h_llo"));
  EXPECT_TRUE(LikeMatch("héllo", "h_llo%"));
  EXPECT_FALSE(LikeMatch("héllo", "h__llo")) << "é is one character, not two bytes";
  EXPECT_TRUE(LikeMatch("日本", "__"));
  EXPECT_FALSE(LikeMatch("日本", "___"));
  EXPECT_TRUE(LikeMatch("日本語", "%_語"));
  EXPECT_TRUE(LikeMatch("x😀y", "x_y")) << "a four-byte character";
  EXPECT_FALSE(LikeMatch("é", "%__"));
}

TEST(LikeMatch, EscapeMakesWildcardsLiteral) {
  EXPECT_TRUE(LikeMatch("50%", "50\\%", "\\"));
  EXPECT_FALSE(LikeMatch("500", "50\\%", "\\"));
  EXPECT_TRUE(LikeMatch("a_b", "a!_b", "!"));
  EXPECT_FALSE(LikeMatch("axb", "a!_b", "!"));
  EXPECT_TRUE(LikeMatch("a!b", "a!!b", "!"));
  EXPECT_TRUE(LikeMatch("x%y%z", "%!%z", "!"));
  EXPECT_TRUE(LikeMatch("ab!", "ab!", "!")) << "a trailing escape stands for itself";
  EXPECT_TRUE(LikeMatch("é%", "_é%", "é")) << "a multi-byte escape character";
}

}  // namespace
}  // namespace quiver
