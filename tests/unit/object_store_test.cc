#include "io/object_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"

namespace quiver {
namespace {

TEST(LocalObjectStore, PutGetListDelete) {
  testing::TempDir dir;
  auto fs = NewPosixFileSystem();
  auto store = NewLocalObjectStore(fs.get(), JoinPath(dir.path(), "objects"));
  EXPECT_TRUE(store->List("").value().empty());
  ASSERT_TRUE(store->Put("t1/seg-000001.qseg", "one").ok());
  ASSERT_TRUE(store->Put("t1/seg-000002.qseg", "two").ok());
  ASSERT_TRUE(store->Put("t2/index.bin", "idx").ok());
  ASSERT_TRUE(store->Put("t1/seg-000001.qseg", "one, replaced").ok());
  EXPECT_EQ(store->Get("t1/seg-000001.qseg").value(), "one, replaced");
  EXPECT_EQ(store->List("t1/").value(),
            (std::vector<std::string>{"t1/seg-000001.qseg", "t1/seg-000002.qseg"}));
  EXPECT_EQ(store->List("").value().size(), 3u);
  ASSERT_TRUE(store->Delete("t1/seg-000002.qseg").ok());
  ASSERT_TRUE(store->Delete("t1/seg-000002.qseg").ok()) << "deleting twice is fine";
  ASSERT_TRUE(store->Delete("never/put").ok());
  EXPECT_EQ(store->Get("t1/seg-000002.qseg").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->List("t1/").value(), (std::vector<std::string>{"t1/seg-000001.qseg"}));
}

TEST(LocalObjectStore, KeysCannotEscapeTheRoot) {
  testing::TempDir dir;
  auto fs = NewPosixFileSystem();
  const std::string root = JoinPath(dir.path(), "objects");
  auto store = NewLocalObjectStore(fs.get(), root);
  for (const std::string key :
       {"../x", "a/../../x", "/abs", "a//b", "a/./b", "", "a/b/", "x.tmp", "a b"}) {
    EXPECT_EQ(store->Put(key, "data").code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store->Get(key).status().code(), StatusCode::kInvalidArgument) << key;
  }
  EXPECT_FALSE(std::filesystem::exists(JoinPath(dir.path(), "x")));
}

}  // namespace
}  // namespace quiver
