// The MetaStore contract (catalog/meta_store.h), written once for every
// implementation: the local store and the etcd adapter.

#include "catalog/meta_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <thread>

#include "cluster/etcd_meta_store.h"
#include "etcd_server.h"
#include "test_util.h"

namespace quiver {
namespace {

using namespace std::chrono_literals;
using StoreFactory = std::function<std::unique_ptr<MetaStore>(const std::string& dir)>;

class MetaStoreContract : public ::testing::TestWithParam<StoreFactory> {
 protected:
  std::unique_ptr<MetaStore> Open() { return GetParam()(dir_.path()); }
  testing::TempDir dir_{/*in_memory=*/true};
};

// Waits (bounded) for the next events of a watch.
std::vector<MetaEvent> NextEvents(MetaWatch& watch) {
  auto events = watch.Next(30s);
  EXPECT_TRUE(events.ok()) << events.status().ToString();
  return events.ok() ? *events : std::vector<MetaEvent>{};
}

TEST_P(MetaStoreContract, EveryChangeRaisesTheRevision) {
  auto store = Open();
  const Revision start = store->CurrentRevision();
  auto a = store->Put("a", "1");
  auto b = store->Put("b", "2");
  auto a2 = store->Put("a", "3");
  ASSERT_TRUE(a.ok() && b.ok() && a2.ok());
  EXPECT_EQ(*a, start + 1);
  EXPECT_EQ(*b, start + 2);
  EXPECT_EQ(*a2, start + 3);
  auto got = store->Get("a");
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->value, "3");
  EXPECT_EQ((*got)->mod_revision, *a2);
  EXPECT_FALSE(*store->Get("missing"));
  auto deleted = store->Delete("b");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, start + 4);
  EXPECT_FALSE(*store->Get("b"));
  auto listed = store->List("");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->kvs.size(), 1u);
  EXPECT_EQ(listed->kvs[0].key, "a");
  EXPECT_EQ(listed->revision, *deleted) << "a listing says which revision it read";
}

TEST_P(MetaStoreContract, CompareAndPutRefusesAStaleRevisionAndChangesNothing) {
  auto store = Open();
  auto created = store->CompareAndPut("manifest", "v1", /*expected=*/0);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(store->CompareAndPut("manifest", "again", 0).status().code(), StatusCode::kConflict)
      << "expected 0 means the key must not exist";
  auto second = store->CompareAndPut("manifest", "v2", *created);
  ASSERT_TRUE(second.ok());
  // A writer still holding the first revision (a deposed leader) is fenced.
  auto stale = store->CompareAndPut("manifest", "zombie", *created);
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);
  EXPECT_EQ((*store->Get("manifest"))->value, "v2");
  EXPECT_EQ((*store->Get("manifest"))->mod_revision, *second);
}

TEST_P(MetaStoreContract, AFencedPutHoldsOnlyWhileItsFenceKeyIsTheSame) {
  auto store = Open();
  // A leader's election key: its create revision is the leader's epoch.
  auto elected = store->CompareAndPut("leader", "node-a", 0);
  ASSERT_TRUE(elected.ok()) << elected.status().ToString();
  auto key = store->Get("leader");
  ASSERT_TRUE(key.ok() && *key);
  EXPECT_EQ((*key)->create_revision, *elected);
  ASSERT_TRUE(store->Put("leader", "node-a, renewed").ok());
  EXPECT_EQ((*store->Get("leader"))->create_revision, *elected)
      << "a later put keeps the create revision";
  const Fence fence{"leader", *elected};

  auto first = store->FencedPut("manifest", "m1", 0, fence);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto stale = store->FencedPut("manifest", "m-stale", 0, fence);
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict) << "the CAS part still holds";

  // Deposed: the key is gone, then created again by another leader.
  ASSERT_TRUE(store->Delete("leader").ok());
  auto gone = store->FencedPut("manifest", "zombie", *first, fence);
  EXPECT_EQ(gone.status().code(), StatusCode::kConflict);
  EXPECT_NE(gone.status().message().find("leader"), std::string::npos) << gone.status().ToString();
  auto next = store->CompareAndPut("leader", "node-b", 0);
  ASSERT_TRUE(next.ok());
  auto zombie = store->FencedPut("manifest", "zombie", *first, fence);
  EXPECT_EQ(zombie.status().code(), StatusCode::kConflict);
  EXPECT_EQ((*store->Get("manifest"))->value, "m1") << "a refused fenced put changes nothing";
  auto taken = store->FencedPut("manifest", "m2", *first, Fence{"leader", *next});
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ((*store->Get("manifest"))->value, "m2");
}

TEST_P(MetaStoreContract, CompareAndDeleteDeletesOnlyTheRevisionItRead) {
  auto store = Open();
  auto mine = store->Put("leader", "node-a");
  ASSERT_TRUE(mine.ok());
  auto theirs = store->Put("leader", "node-b");
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(store->CompareAndDelete("leader", *mine).status().code(), StatusCode::kConflict);
  EXPECT_EQ((*store->Get("leader"))->value, "node-b");
  EXPECT_EQ(store->CompareAndDelete("absent", 0).status().code(), StatusCode::kConflict);
  ASSERT_TRUE(store->CompareAndDelete("leader", *theirs).ok());
  EXPECT_FALSE(*store->Get("leader"));
}

TEST_P(MetaStoreContract, WatchSeesEveryChangeUnderItsPrefixInOrder) {
  auto store = Open();
  ASSERT_TRUE(store->Put("shard.1", "a").ok());
  const Revision from = store->CurrentRevision();
  auto watch = store->Watch("shard.", from);
  ASSERT_TRUE(watch.ok());
  std::thread writer([&] {
    ASSERT_TRUE(store->Put("other", "x").ok());
    ASSERT_TRUE(store->Put("shard.2", "b").ok());
    ASSERT_TRUE(store->Delete("shard.1").ok());
    ASSERT_TRUE(store->Put("shard.2", "c").ok());
  });
  std::vector<MetaEvent> seen;
  while (seen.size() < 3) {
    for (auto& e : NextEvents(**watch)) seen.push_back(std::move(e));
  }
  writer.join();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].type, MetaEvent::Type::kPut);
  EXPECT_EQ(seen[0].kv.key, "shard.2");
  EXPECT_EQ(seen[1].type, MetaEvent::Type::kDelete);
  EXPECT_EQ(seen[1].kv.key, "shard.1");
  EXPECT_EQ(seen[2].kv.value, "c");
  EXPECT_LT(seen[0].kv.mod_revision, seen[1].kv.mod_revision);
  EXPECT_LT(seen[1].kv.mod_revision, seen[2].kv.mod_revision);
  // A watch from a past revision replays what happened since.
  auto replay = store->Watch("shard.", seen[0].kv.mod_revision);
  ASSERT_TRUE(replay.ok());
  auto again = NextEvents(**replay);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].kv.key, "shard.1");
  // Nothing new: an empty answer when the timeout passes.
  auto quiet = (*replay)->Next(1ms);
  ASSERT_TRUE(quiet.ok());
  EXPECT_TRUE(quiet->empty());
}

TEST_P(MetaStoreContract, AWatchTooFarBehindIsToldToReadAgain) {
  auto store = Open();
  const Revision from = store->CurrentRevision();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store->Put("k", std::to_string(i)).ok());
  ASSERT_TRUE(store->Compact(store->CurrentRevision()).ok());
  auto watch = store->Watch("", from);
  if (watch.ok()) {
    EXPECT_EQ((*watch)->Next(30s).status().code(), StatusCode::kNotFound);
  } else {
    EXPECT_EQ(watch.status().code(), StatusCode::kNotFound);
  }
  // Watching from a revision read now works.
  auto current = store->Watch("", store->CurrentRevision());
  ASSERT_TRUE(current.ok());
  ASSERT_TRUE(store->Put("k", "last").ok());
  auto events = NextEvents(**current);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kv.value, "last");
}

// Applies events to a map, as a consumer of a watch would.
void Apply(const std::vector<MetaEvent>& events, std::map<std::string, std::string>* state) {
  for (const auto& event : events) {
    if (event.type == MetaEvent::Type::kDelete) {
      EXPECT_TRUE(state->erase(event.kv.key))
          << "a delete of a key never reported: " << event.kv.key;
    } else {
      (*state)[event.kv.key] = event.kv.value;
    }
  }
}

TEST_P(MetaStoreContract, AResumingWatchLosesNoChangeAcrossACompaction) {
  auto store = Open();
  ASSERT_TRUE(store->Put("m.a", "1").ok());
  ASSERT_TRUE(store->Put("m.b", "1").ok());
  ASSERT_TRUE(store->Put("other", "x").ok());
  ResumingWatch watch(store.get(), "m.");
  std::map<std::string, std::string> state;
  auto first = watch.Next(30s);  // the listing it starts from
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Apply(*first, &state);
  EXPECT_EQ(state, (std::map<std::string, std::string>{{"m.a", "1"}, {"m.b", "1"}}));

  // Changes, then a compaction past all of them before the watch reads:
  // the store has forgotten them, the watch must still converge.
  ASSERT_TRUE(store->Put("m.a", "2").ok());
  ASSERT_TRUE(store->Delete("m.b").ok());
  ASSERT_TRUE(store->Put("m.c", "1").ok());
  ASSERT_TRUE(store->Put("m.d", "1").ok());
  ASSERT_TRUE(store->Delete("m.d").ok());
  ASSERT_TRUE(store->Compact(store->CurrentRevision()).ok());
  ASSERT_TRUE(store->Put("m.e", "1").ok());
  const std::map<std::string, std::string> expected{{"m.a", "2"}, {"m.c", "1"}, {"m.e", "1"}};
  for (int i = 0; i < 100 && state != expected; ++i) {
    auto events = watch.Next(30s);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    Apply(*events, &state);
  }
  EXPECT_EQ(state, expected);
  EXPECT_EQ(watch.resyncs(), 1u) << "it listed the keys again once";
  EXPECT_EQ(watch.keys().size(), 3u);

  // And it goes on watching from there.
  ASSERT_TRUE(store->Delete("m.a").ok());
  auto after = watch.Next(30s);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].type, MetaEvent::Type::kDelete);
  EXPECT_EQ((*after)[0].kv.key, "m.a");
}

TEST_P(MetaStoreContract, KeysOfAnExpiredLeaseAreDeleted) {
  auto store = Open();
  auto lease = store->GrantLease(50ms);
  ASSERT_TRUE(lease.ok());
  const Revision from = store->CurrentRevision();
  ASSERT_TRUE(store->Put("leader", "node-1", *lease).ok());
  ASSERT_TRUE(store->Put("kept", "x").ok());
  auto watch = store->Watch("leader", from);
  ASSERT_TRUE(watch.ok());
  std::vector<MetaEvent> seen;
  while (seen.size() < 2) {  // the put, then the expiry's delete (no keep-alive)
    for (auto& e : NextEvents(**watch)) seen.push_back(std::move(e));
  }
  EXPECT_EQ(seen[1].type, MetaEvent::Type::kDelete);
  EXPECT_FALSE(*store->Get("leader"));
  EXPECT_TRUE(*store->Get("kept")) << "keys without the lease stay";
  EXPECT_EQ(store->KeepAlive(*lease).code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Put("leader", "node-1", *lease).status().code(), StatusCode::kNotFound);
  // Kept alive, a lease holds; revoked, its keys go at once.
  auto held = store->GrantLease(10min);
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(store->Put("leader", "node-2", *held).ok());
  ASSERT_TRUE(store->KeepAlive(*held).ok());
  EXPECT_TRUE(*store->Get("leader"));
  ASSERT_TRUE(store->RevokeLease(*held).ok());
  EXPECT_FALSE(*store->Get("leader"));
}

TEST_P(MetaStoreContract, ValuesSurviveReopening) {
  {
    auto store = Open();
    ASSERT_TRUE(store->Put("catalog", "state").ok());
  }
  auto store = Open();
  auto got = store->Get("catalog");
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->value, "state");
  // The revision read is the one to compare against.
  EXPECT_TRUE(store->CompareAndPut("catalog", "next", (*got)->mod_revision).ok());
}

// The local store keeps a bounded history by itself (etcd's is compacted by
// whoever runs it: the coordinator, in a cluster).
TEST(LocalMetaStore, KeepsTheLastTenThousandChanges) {
  testing::TempDir dir(/*in_memory=*/true);
  auto fs = NewPosixFileSystem();
  auto store = NewLocalMetaStore(fs.get(), dir.path());
  const Revision from = store->CurrentRevision();
  for (int i = 0; i < 10050; ++i) ASSERT_TRUE(store->Put("k", std::to_string(i)).ok());
  auto watch = store->Watch("", from);
  if (watch.ok()) {
    EXPECT_EQ((*watch)->Next(1ms).status().code(), StatusCode::kNotFound);
  } else {
    EXPECT_EQ(watch.status().code(), StatusCode::kNotFound);
  }
  auto recent = store->Watch("", store->CurrentRevision() - 9000);
  ASSERT_TRUE(recent.ok());
  auto events = (*recent)->Next(1ms);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  EXPECT_EQ(events->size(), 9000u);
}

INSTANTIATE_TEST_SUITE_P(Local, MetaStoreContract,
                         ::testing::Values(StoreFactory([](const std::string& dir) {
                           static const std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
                           return NewLocalMetaStore(fs.get(), dir);
                         })));

// The same contract against a real etcd 3.4 server (Debian's etcd-server),
// started by the test on 127.0.0.1 and stopped by its PID; each test's keys
// live under their own prefix.
INSTANTIATE_TEST_SUITE_P(Etcd, MetaStoreContract,
                         ::testing::Values(StoreFactory([](const std::string& dir) {
                           EtcdOptions options;
                           options.endpoint = testing::EtcdServer::Get().endpoint();
                           options.prefix =
                               "test/" + std::filesystem::path(dir).filename().string() + "/";
                           return NewEtcdMetaStore(options);
                         })));

}  // namespace
}  // namespace quiver
