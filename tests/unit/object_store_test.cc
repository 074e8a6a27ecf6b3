// The ObjectStore contract (io/object_store.h), written once for every
// implementation.

#include "io/object_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <thread>

#include "test_util.h"

namespace quiver {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// Opens a store whose objects live under `scope` (a path in the test's
// temporary directory); stores of different scopes do not see each other.
struct Backend {
  std::string name;
  std::function<std::unique_ptr<ObjectStore>(const std::string& scope)> open;
};

void PrintTo(const Backend& backend, std::ostream* out) {
  *out << backend.name;
}

std::string SeededBytes(size_t size, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    const uint64_t word = random();
    std::memcpy(bytes.data() + i, &word, std::min<size_t>(8, size - i));
  }
  return bytes;
}

class ObjectStoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { store_ = Open("store"); }
  std::unique_ptr<ObjectStore> Open(const std::string& name) {
    return GetParam().open(JoinPath(dir_.path(), name));
  }

  testing::TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_P(ObjectStoreContract, PutGetReplaceListDelete) {
  ObjectStore& store = *store_;
  EXPECT_TRUE(store.List("").value().empty());
  ASSERT_TRUE(store.Put("t1/seg-000001.qseg", "one").ok());
  ASSERT_TRUE(store.Put("t1/seg-000002.qseg", "two").ok());
  ASSERT_TRUE(store.Put("t2/index.bin", "idx").ok());
  ASSERT_TRUE(store.Put("t1/seg-000001.qseg", "one, replaced").ok());
  EXPECT_EQ(store.Get("t1/seg-000001.qseg").value(), "one, replaced");
  EXPECT_EQ(store.List("t1/").value(),
            (std::vector<std::string>{"t1/seg-000001.qseg", "t1/seg-000002.qseg"}));
  EXPECT_EQ(store.List("").value().size(), 3u);
  ASSERT_TRUE(store.Delete("t1/seg-000002.qseg").ok());
  ASSERT_TRUE(store.Delete("t1/seg-000002.qseg").ok()) << "deleting twice is fine";
  ASSERT_TRUE(store.Delete("never/put").ok());
  EXPECT_EQ(store.Get("t1/seg-000002.qseg").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.List("t1/").value(), (std::vector<std::string>{"t1/seg-000001.qseg"}));
}

TEST_P(ObjectStoreContract, KeysCannotEscapeTheStore) {
  ObjectStore& store = *store_;
  for (const std::string key :
       {"../x", "a/../../x", "/abs", "a//b", "a/./b", "", "a/b/", "x.tmp", "a b", "a?b", "a%2Fb"}) {
    EXPECT_EQ(store.Put(key, "data").code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store.Get(key).status().code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store.GetRange(key, 0, 1).status().code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store.Size(key).status().code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store.Delete(key).code(), StatusCode::kInvalidArgument) << key;
  }
  EXPECT_TRUE(store.List("").value().empty());
  EXPECT_FALSE(std::filesystem::exists(JoinPath(dir_.path(), "x")));
}

TEST_P(ObjectStoreContract, GetRangeReturnsTheBytesWithinTheObject) {
  ObjectStore& store = *store_;
  ASSERT_TRUE(store.Put("digits", "0123456789").ok());
  EXPECT_EQ(store.GetRange("digits", 2, 3).value(), "234") << "the middle";
  EXPECT_EQ(store.GetRange("digits", 7, 3).value(), "789") << "to the end";
  EXPECT_EQ(store.GetRange("digits", 7, 100).value(), "789") << "clipped at the end";
  EXPECT_EQ(store.GetRange("digits", 5, std::numeric_limits<uint64_t>::max()).value(), "56789");
  EXPECT_EQ(store.GetRange("digits", 0, 10).value(), "0123456789");
  EXPECT_EQ(store.GetRange("digits", 4, 0).value(), "");
  EXPECT_EQ(store.GetRange("digits", 10, 5).value(), "") << "at the end: no bytes";
  EXPECT_EQ(store.GetRange("digits", 11, 5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.GetRange("digits", 11, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.GetRange("absent", 0, 5).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.GetRange("absent", 0, 0).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store.Put("empty", "").ok());
  EXPECT_EQ(store.GetRange("empty", 0, 10).value(), "");
  EXPECT_EQ(store.GetRange("empty", 1, 10).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ObjectStoreContract, SizeIsTheObjectsLength) {
  ObjectStore& store = *store_;
  ASSERT_TRUE(store.Put("dir/object", "0123456789").ok());
  ASSERT_TRUE(store.Put("empty", "").ok());
  EXPECT_EQ(store.Size("dir/object").value(), 10u);
  EXPECT_EQ(store.Size("empty").value(), 0u);
  EXPECT_EQ(store.Size("absent").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.Size("dir").status().code(), StatusCode::kNotFound) << "a prefix, no object";
  EXPECT_EQ(store.Get("dir").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store.Put("dir/object", "abc").ok());
  EXPECT_EQ(store.Size("dir/object").value(), 3u);
}

TEST_P(ObjectStoreContract, ListPagesThroughManyKeysUnderAPrefix) {
  ObjectStore& store = *store_;
  std::vector<std::string> many;
  for (int i = 24; i >= 0; --i) {  // put out of order; listed in order
    many.insert(many.begin(), "many/k-" + std::string(i < 10 ? "0" : "") + std::to_string(i));
    ASSERT_TRUE(store.Put(many.front(), std::to_string(i)).ok());
  }
  ASSERT_TRUE(store.Put("many-more", "x").ok());
  ASSERT_TRUE(store.Put("few/a", "x").ok());
  EXPECT_EQ(store.List("many/").value(), many);
  EXPECT_EQ(store.List("many").value().size(), 26u);
  EXPECT_EQ(store.List("many/k-1").value().size(), 10u);
  EXPECT_EQ(store.List("").value().size(), 27u);
  EXPECT_TRUE(store.List("none/").value().empty());
}

TEST_P(ObjectStoreContract, ALargeObjectRoundTripsByteExactly) {
  ObjectStore& store = *store_;
  const std::string large = SeededBytes(11 * kMiB + 12345, /*seed=*/7);
  ASSERT_TRUE(store.Put("segments/large.seg", large).ok());
  EXPECT_EQ(store.Size("segments/large.seg").value(), large.size());
  auto got = store.Get("segments/large.seg");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == large) << "the object differs";
  const uint64_t across = 5 * kMiB - 100;  // spans the first parts' boundary
  EXPECT_TRUE(store.GetRange("segments/large.seg", across, 200).value() ==
              large.substr(across, 200));
  EXPECT_TRUE(store.GetRange("segments/large.seg", large.size() - 10, 100).value() ==
              large.substr(large.size() - 10));
  ASSERT_TRUE(store.Put("segments/large.seg", "small again").ok());
  EXPECT_EQ(store.Get("segments/large.seg").value(), "small again");
}

TEST_P(ObjectStoreContract, EveryByteValueRoundTrips) {
  ObjectStore& store = *store_;
  std::string binary;
  for (int round = 0; round < 4; ++round) {
    for (int b = 0; b < 256; ++b) binary.push_back(static_cast<char>(b));
  }
  ASSERT_TRUE(store.Put("binary", binary).ok());
  EXPECT_TRUE(store.Get("binary").value() == binary);
  EXPECT_TRUE(store.GetRange("binary", 250, 12).value() == binary.substr(250, 12));
  ASSERT_TRUE(store.Put("empty", "").ok());
  EXPECT_EQ(store.Get("empty").value(), "");
}

TEST_P(ObjectStoreContract, StoresOfDifferentScopesDoNotSeeEachOther) {
  auto other = Open("other");
  ASSERT_TRUE(store_->Put("shared/name", "mine").ok());
  ASSERT_TRUE(other->Put("shared/name", "theirs").ok());
  EXPECT_EQ(store_->Get("shared/name").value(), "mine");
  EXPECT_EQ(other->List("").value(), (std::vector<std::string>{"shared/name"}));
  ASSERT_TRUE(other->Delete("shared/name").ok());
  EXPECT_EQ(store_->Get("shared/name").value(), "mine");
}

TEST_P(ObjectStoreContract, ThreadsPutAndGetAtOnce) {
  constexpr int kThreads = 4, kObjects = 8;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::atomic<int> mismatches{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kObjects; ++i) {
        const std::string key = "t" + std::to_string(t) + "/o" + std::to_string(i);
        const std::string data = SeededBytes(1000 + i, t * 100 + i);
        auto got = store_->Put(key, data).ok() ? store_->Get(key) : Status::Internal("put");
        if (!got.ok() || *got != data) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(store_->List("").value().size(), size_t{kThreads * kObjects});
}

INSTANTIATE_TEST_SUITE_P(Local, ObjectStoreContract,
                         ::testing::Values(Backend{"Local",
                                                   [](const std::string& scope) {
                                                     static const std::unique_ptr<FileSystem> fs =
                                                         NewPosixFileSystem();
                                                     return NewLocalObjectStore(fs.get(), scope);
                                                   }}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace quiver
