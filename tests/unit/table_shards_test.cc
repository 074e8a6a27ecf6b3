// A table of several shards answers exactly as a table of one: the same
// operations, applied to both, give the same answer to every read.

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "catalog/catalog.h"
#include "engine/table.h"
#include "table_oracle.h"
#include "test_util.h"

namespace quiver {
namespace {

using testing::ExpectSameAnswers;
using testing::Rows;
using testing::Schema;
using testing::TempDir;

struct Pair {
  std::unique_ptr<Table> one, many;
};

TableOptions SmallSegments() {
  TableOptions options;
  options.seal_rows = 40;  // seals and compactions happen along the way
  options.max_segments = 3;
  return options;
}

Pair Open(FileSystem* fs, const TempDir& a, const TempDir& b, uint32_t shards) {
  Pair pair;
  auto one = Table::Open(fs, a.path(), Schema(), SmallSegments());
  auto many = Table::Open(fs, b.path(), Schema(), SmallSegments(), SlotMap::Even(shards));
  EXPECT_TRUE(one.ok() && many.ok());
  pair.one = std::move(one).value();
  pair.many = std::move(many).value();
  return pair;
}

TEST(TableShards, FourShardsAnswerExactlyAsOne) {
  TempDir a, b;
  auto fs = NewPosixFileSystem();
  auto pair = Open(fs.get(), a, b, 4);
  ASSERT_EQ(pair.many->shard_count(), 4u);
  std::mt19937 rng(11), reads(3);
  for (int round = 0; round < 40; ++round) {
    std::vector<int64_t> ids(12);
    for (auto& id : ids) id = static_cast<int64_t>(rng() % 200);
    const bool upsert = round % 3 != 0;
    const RecordBatch batch = Rows(Schema(), ids, round);
    auto x = pair.one->Insert(batch, upsert);
    auto y = pair.many->Insert(batch, upsert);
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_EQ(x->inserted, y->inserted);
    EXPECT_EQ(x->skipped, y->skipped);
    EXPECT_GE(y->shard_lsns.size(), 1u);
    if (round % 5 == 4) {
      std::vector<PrimaryKey> keys = {int64_t(rng() % 200), int64_t(rng() % 200)};
      EXPECT_EQ(pair.one->Delete(keys)->deleted, pair.many->Delete(keys)->deleted);
    }
    if (round % 13 == 12) {
      EXPECT_EQ(pair.one->DeleteWhere("price > 90")->deleted,
                pair.many->DeleteWhere("price > 90")->deleted);
    }
    ASSERT_TRUE(pair.one->MaybeSeal().ok() && pair.many->MaybeSeal().ok());
    ASSERT_TRUE(pair.one->Compact().ok() && pair.many->Compact().ok());
    if (round % 10 == 9) ExpectSameAnswers(*pair.one, *pair.many, &reads, "while writing");
  }
  const TableStats stats = *pair.many->Stats();
  ASSERT_EQ(stats.shards.size(), 4u);
  size_t rows = 0;
  for (const ShardStats& shard : stats.shards) {
    EXPECT_GT(shard.live_rows, 0u) << "every shard holds some of 200 keys";
    EXPECT_GT(shard.applied_lsn, 0u);
    rows += shard.live_rows;
  }
  EXPECT_EQ(rows, stats.live_rows);
  EXPECT_EQ(stats.live_rows, pair.one->RowCount());

  // After a restart (stamps come back from the segments and the logs).
  pair = {};
  pair = Open(fs.get(), a, b, 4);
  ExpectSameAnswers(*pair.one, *pair.many, &reads, "after reopening");
  // New rows still come after the old ones.
  std::vector<int64_t> fresh = {1000, 1001, 1002};
  ASSERT_TRUE(pair.one->Insert(Rows(Schema(), fresh, 99), false).ok());
  ASSERT_TRUE(pair.many->Insert(Rows(Schema(), fresh, 99), false).ok());
  ASSERT_TRUE(pair.one->Seal().ok() && pair.many->Seal().ok());
  ASSERT_TRUE(pair.one->Compact(true).ok() && pair.many->Compact(true).ok());
  ExpectSameAnswers(*pair.one, *pair.many, &reads, "after sealing and compacting everything");
}

TEST(TableShards, ABadBatchChangesNoShard) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  auto table = std::move(Table::Open(fs.get(), dir.path(), Schema(), {}, SlotMap::Even(3)).value());
  RecordBatch batch = Rows(Schema(), {1, 2, 3, 4, 5, 6}, 0);
  // The last row's vector holds a NaN: the batch is refused whole.
  RecordBatch bad = RecordBatch::ForSchema(Schema());
  for (size_t f = 0; f < bad.columns.size(); ++f) {
    for (size_t r = 0; r < 5; ++r) bad.columns[f].AppendFrom(batch.columns[f], r);
  }
  bad.columns[0].AppendInt(6);
  bad.columns[1].AppendString("x");
  bad.columns[2].AppendDouble(1);
  const std::vector<float> nan(6, std::nanf(""));
  bad.columns[3].AppendVector(nan);
  bad.columns[4].AppendVector(std::vector<float>(4, 1));
  EXPECT_EQ(table->Insert(bad, false).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(table->RowCount(), 0u);
  const auto stats = table->Stats();  // held: a range-for over ->shards would dangle
  ASSERT_TRUE(stats.ok());
  for (const ShardStats& shard : stats->shards) EXPECT_EQ(shard.applied_lsn, 0u);
  std::vector<PrimaryKey> mixed = {int64_t{1}, std::string("x")};
  EXPECT_EQ(table->Delete(mixed).status().code(), StatusCode::kInvalidArgument);
}

// Writes reach a shard's log out of stamp order when concurrent writers
// race (the stamp is taken before the append): reads still come in stamp
// order, pages included, and sealing writes the rows in stamp order.
TEST(TableShards, RowsComeInStampOrderWhateverOrderTheyWereAppendedIn) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  auto shard = std::move(Shard::Open(fs.get(), dir.path(), Schema(), {}).value());
  const uint64_t base = 1'700'000'000'000'000;
  // Appended as ids 0..9 but stamped 9..0 (plus a block stamped in between).
  for (int64_t id = 0; id < 10; ++id) {
    ASSERT_TRUE(shard->Insert(Rows(Schema(), {id}, 0), false, base + 100 * (10 - id)).ok());
  }
  ASSERT_TRUE(shard->Insert(Rows(Schema(), {50, 51}, 0), false, base + 550).ok());
  const std::vector<int64_t> expected = {9, 8, 7, 6, 5, 50, 51, 4, 3, 2, 1, 0};
  auto ids = [&](std::optional<size_t> skip, std::optional<size_t> limit) {
    GetRequest get;
    get.response = {"id"};
    get.skip = skip.value_or(0);
    get.limit = limit;
    auto result = shard->Get(get);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    std::vector<int64_t> out;
    if (!result.ok()) return out;
    for (const auto& row : result->rows) out.push_back(std::get<int64_t>(row[0]));
    return out;
  };
  EXPECT_EQ(ids({}, {}), expected);
  EXPECT_EQ(ids(4, 3), (std::vector<int64_t>{5, 50, 51}));
  ASSERT_TRUE(shard->Seal().ok());
  const auto version = shard->Pin();
  ASSERT_EQ(version->segments.size(), 1u);
  EXPECT_TRUE(version->segments[0].segment->stamp_range().sorted)
      << "a sealed segment holds its rows in stamp order";
  EXPECT_EQ(ids({}, {}), expected);
  // New rows in a growing chunk, again out of order, after the sealed ones.
  ASSERT_TRUE(shard->Insert(Rows(Schema(), {70}, 0), false, base + 2000).ok());
  ASSERT_TRUE(shard->Insert(Rows(Schema(), {71}, 0), false, base + 1500).ok());
  EXPECT_EQ(ids(10, 5), (std::vector<int64_t>{1, 0, 71, 70}));
  EXPECT_EQ(ids(0, 2), (std::vector<int64_t>{9, 8}));
}

TEST(SlotMap, EvenMapsSpreadSlotsAndRoundTrip) {
  for (uint32_t shards : {1u, 2u, 3u, 4u, 7u, 64u}) {
    const SlotMap map = SlotMap::Even(shards);
    EXPECT_EQ(map.shards(), shards);
    std::vector<size_t> owned(shards);
    for (uint32_t owner : map.owner) ++owned[owner];
    for (size_t n : owned) {
      EXPECT_GE(n, kHashSlots / shards);
      EXPECT_LE(n, kHashSlots / shards + 1);
    }
    std::string bytes;
    ByteWriter w(&bytes);
    EncodeSlotMap(&w, map);
    ByteReader r(bytes);
    SlotMap decoded;
    ASSERT_TRUE(DecodeSlotMap(&r, &decoded).ok());
    EXPECT_EQ(decoded, map);
  }
  // Keys spread over slots: 4,000 keys of each kind fill most of them.
  std::set<uint32_t> int_slots, string_slots;
  for (int64_t k = 0; k < 4000; ++k) {
    int_slots.insert(HashSlot(k));
    string_slots.insert(HashSlot("key-" + std::to_string(k)));
  }
  EXPECT_GT(int_slots.size(), kHashSlots * 9 / 10);
  EXPECT_GT(string_slots.size(), kHashSlots * 9 / 10);
}

TEST(SlotMap, TheCatalogKeepsEachTablesMap) {
  CatalogState state;
  DatabaseEntry db;
  db.id = 1;
  db.name = "db";
  db.tables.push_back({2, Schema(), SlotMap::Even(4)});
  db.tables.push_back({3, Schema(), SlotMap::Even(1)});
  state.databases.push_back(db);
  auto decoded = DecodeCatalog(EncodeCatalog(state));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, state);
  EXPECT_EQ(decoded->databases[0].tables[0].slots.shards(), 4u);
}

}  // namespace
}  // namespace quiver
