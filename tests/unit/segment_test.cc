#include <gtest/gtest.h>

#include <fstream>

#include "segment/manifest.h"
#include "segment/sealed_segment.h"
#include "test_util.h"

namespace quiver {
namespace {

TableSchema AllTypes() {
  TableSchema schema{"t",
                     {{"id", DataType::kString, true},
                      {"b", DataType::kBool},
                      {"i", DataType::kInt},
                      {"d", DataType::kDouble},
                      {"f", DataType::kFloat},
                      {"j", DataType::kJson},
                      {"v", DataType::kVectorFloat, false, 3, Metric::kCosine},
                      {"w", DataType::kVectorFloat, false, 5, Metric::kEuclidean},
                      {"bits", DataType::kVectorBinary, false, 70, Metric::kHamming},
                      {"terms", DataType::kSparseVectorFloat, false, 0, Metric::kDotProduct}}};
  EXPECT_TRUE(ValidateAndNormalize(&schema).ok());
  return schema;
}

RecordBatch Rows(const TableSchema& schema, int n) {
  RecordBatch batch = RecordBatch::ForSchema(schema);
  for (int r = 0; r < n; ++r) {
    auto& c = batch.columns;
    c[0].AppendString("key-" + std::to_string((r * 7919) % 1000));
    r % 3 ? c[1].AppendInt(r % 2) : c[1].AppendNull();
    c[2].AppendInt(r * 10 - 50);
    r % 4 ? c[3].AppendDouble(r / 3.0) : c[3].AppendNull();
    c[4].AppendDouble(r * 0.5);
    c[5].AppendString("{\"n\":" + std::to_string(r) + "}");
    const float v[3] = {float(r), 1, 2};
    c[6].AppendVector(v);
    const float w[5] = {0, float(-r), 3, 4, 5};
    c[7].AppendVector(w);
    const uint64_t bits[2] = {0x9E3779B97F4A7C15ull * (r + 1), uint64_t(r % 64)};  // 70 bits
    c[8].AppendBits(bits);
    const uint32_t indices[3] = {uint32_t(r), uint32_t(r + 7), 4000000000u};
    const float values[3] = {0.5f * r, -1, 2};
    c[9].AppendSparse(std::span(indices, r % 4), std::span(values, r % 4));
  }
  return batch;
}

TEST(SealedSegment, RoundTripsEveryTypeAndFindsKeys) {
  testing::TempDir dir;
  auto fs = NewPosixFileSystem();
  const auto schema = AllTypes();
  const RecordBatch batch = Rows(schema, 150);
  std::vector<uint64_t> stamps;
  for (uint64_t r = 0; r < 150; ++r) stamps.push_back(1'700'000'000'000'000 + 3 * r);
  const std::string path = JoinPath(dir.path(), "1.seg");
  ASSERT_TRUE(WriteSegmentFile(fs.get(), path, schema, batch.columns, stamps, 10, 20).ok());
  auto seg = SealedSegment::Open(fs.get(), path, schema, 1);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  ASSERT_EQ((*seg)->num_rows(), 150u);
  EXPECT_EQ((*seg)->min_lsn(), 10u);
  EXPECT_EQ((*seg)->max_lsn(), 20u);
  for (size_t r = 0; r < 150; ++r) {
    for (size_t f = 0; f < schema.fields.size(); ++f) {
      EXPECT_EQ((*seg)->columns()[f].GetValue(r), batch.columns[f].GetValue(r)) << r << "," << f;
    }
  }
  for (size_t r = 0; r < 150; ++r) EXPECT_EQ((*seg)->stamp(r), stamps[r]) << r;
  EXPECT_EQ((*seg)->max_stamp(), stamps.back());
  EXPECT_EQ(reinterpret_cast<uintptr_t>((*seg)->columns()[6].VectorData()) % 64, 0u) << "aligned";
  EXPECT_EQ((*seg)->FindKey(std::string("key-0"), 150, kLatest), 0);
  EXPECT_EQ((*seg)->FindKey(std::string("key-919"), 150, kLatest), 1);
  EXPECT_EQ((*seg)->FindKey(std::string("nope"), 150, kLatest), -1);
  (*seg)->MarkDeleted(1, 30);
  EXPECT_EQ((*seg)->FindKey(std::string("key-919"), 150, kLatest), -1);
  EXPECT_EQ((*seg)->FindKey(std::string("key-919"), 150, 29), 1) << "live before LSN 30";
  EXPECT_EQ((*seg)->live_rows(), 149u);
}

TEST(SealedSegment, ManyBlocksRoundTrip) {
  testing::TempDir dir(true);
  auto fs = NewPosixFileSystem();
  TableSchema schema{"t",
                     {{"id", DataType::kBigInt, true}, {"v", DataType::kVectorFloat, false, 2}}};
  ASSERT_TRUE(ValidateAndNormalize(&schema).ok());
  RecordBatch batch = RecordBatch::ForSchema(schema);
  const int n = 150000;  // three scalar blocks
  for (int r = 0; r < n; ++r) {
    batch.columns[0].AppendInt(n - r);
    const float v[2] = {float(r), 0};
    batch.columns[1].AppendVector(v);
  }
  const std::vector<uint64_t> stamps(n, 7);
  const std::string path = JoinPath(dir.path(), "1.seg");
  ASSERT_TRUE(WriteSegmentFile(fs.get(), path, schema, batch.columns, stamps, 1, 1).ok());
  auto seg = SealedSegment::Open(fs.get(), path, schema, 1);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  EXPECT_EQ((*seg)->FindKey(int64_t{1}, n, kLatest), n - 1);
  EXPECT_EQ((*seg)->columns()[0].GetInt(70000), n - 70000);
  EXPECT_EQ((*seg)->stamp(n - 1), 7u);
}

// T4: a flipped bit anywhere in a segment file is detected at open.
TEST(SealedSegment, EveryFlippedByteIsDetected) {
  testing::TempDir dir(true);
  auto fs = NewPosixFileSystem();
  const auto schema = AllTypes();
  const std::string path = JoinPath(dir.path(), "1.seg");
  const std::vector<uint64_t> stamps(20, 5);
  ASSERT_TRUE(
      WriteSegmentFile(fs.get(), path, schema, Rows(schema, 20).columns, stamps, 1, 2).ok());
  const std::string original = fs->ReadFile(path).value();
  for (size_t byte = 0; byte < original.size(); ++byte) {
    std::string damaged = original;
    damaged[byte] ^= static_cast<char>(1 << (byte % 8));
    std::ofstream(path, std::ios::binary | std::ios::trunc) << damaged;
    auto seg = SealedSegment::Open(fs.get(), path, schema, 1);
    ASSERT_FALSE(seg.ok()) << "flip at byte " << byte << " of " << original.size()
                           << " went unnoticed";
    EXPECT_EQ(seg.status().code(), StatusCode::kCorruption);
    EXPECT_NE(seg.status().message().find(path), std::string::npos);
  }
}

TEST(Manifest, RoundTripsAndEveryFlippedByteIsDetected) {
  Manifest m{42, 7, {{3, 100, 1, 40, "bitmap-bytes"}, {5, 7, 41, 42, ""}}};
  m.segments[0].indexed_fields = {2, 4};
  m.segments[0].index_epochs = {9, 11};
  m.segments[0].epoch = 8;
  const std::string bytes = EncodeManifest(m);
  auto decoded = DecodeManifest(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, m);
  for (size_t byte = 0; byte < bytes.size(); ++byte) {
    std::string damaged = bytes;
    damaged[byte] ^= 0x20;
    EXPECT_FALSE(DecodeManifest(damaged).ok()) << byte;
  }
}

}  // namespace
}  // namespace quiver
