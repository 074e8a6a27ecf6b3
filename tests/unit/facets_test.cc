#include "engine/facets.h"

#include <gtest/gtest.h>

namespace quiver {
namespace {

TEST(Facet, SqlNullRulesAndTypes) {
  TableSchema schema{
      "t", {{"id", DataType::kInt, true}, {"g", DataType::kString}, {"x", DataType::kInt}}};
  RecordBatch rows = RecordBatch::ForSchema(schema);
  const struct {
    const char* g;
    std::optional<int64_t> x;
  } data[] = {{"a", 1}, {"a", std::nullopt}, {nullptr, 5}, {"b", std::nullopt}, {"a", 3}};
  for (int64_t r = 0; r < 5; ++r) {
    rows.columns[0].AppendInt(r);
    data[r].g ? rows.columns[1].AppendString(data[r].g) : rows.columns[1].AppendNull();
    data[r].x ? rows.columns[2].AppendInt(*data[r].x) : rows.columns[2].AppendNull();
  }
  auto facet = Facet::Parse({{"g"}, {"COUNT(*)", "count(x)", "SUM(x)", "MIN(x)", "MAX(x)"}}, schema,
                            FilterScope::kRows);
  ASSERT_TRUE(facet.ok()) << facet.status().ToString();
  for (size_t r = 0; r < 5; ++r) facet->Add({rows.columns, r, 0});
  FacetResult result = facet->Finish();
  ASSERT_EQ(result.rows.size(), 3u);
  EXPECT_EQ(result.rows[0], (std::vector<Value>{std::string("a"), int64_t{3}, int64_t{2},
                                                int64_t{4}, int64_t{1}, int64_t{3}}));
  EXPECT_EQ(result.rows[1], (std::vector<Value>{std::monostate{}, int64_t{1}, int64_t{1},
                                                int64_t{5}, int64_t{5}, int64_t{5}}));
  EXPECT_EQ(result.rows[2],
            (std::vector<Value>{std::string("b"), int64_t{1}, int64_t{0}, std::monostate{},
                                std::monostate{}, std::monostate{}}))
      << "SUM/MIN/MAX of only nulls is null";
}

}  // namespace
}  // namespace quiver
