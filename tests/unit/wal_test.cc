#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "io/fault_injection_file_system.h"
#include "test_util.h"
#include "wal/local_log.h"
#include "wal/wal_format.h"

namespace quiver {
namespace {

using testing::TempDir;

struct Replayed {
  std::vector<Lsn> lsns;
  std::vector<std::string> payloads;
};

Result<std::unique_ptr<LocalLog>> OpenLog(FileSystem* fs, const std::string& dir, Replayed* out,
                                          LocalLogOptions options = {}) {
  return LocalLog::Open(fs, dir, options, /*checkpoint=*/0, [out](const LogRecord& r) {
    out->lsns.push_back(r.lsn);
    out->payloads.emplace_back(r.payload);
    return Status::OK();
  });
}

std::string OnlyWalFile(const std::string& dir) {
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".wal") return e.path().string();
  }
  ADD_FAILURE() << "no WAL file in " << dir;
  return "";
}

void WriteRecords(FileSystem* fs, const std::string& dir, int n) {
  Replayed ignored;
  auto log = OpenLog(fs, dir, &ignored);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < n; ++i) {
    auto lsn = (*log)->Append(RecordType::kInsert, "payload-" + std::to_string(i));
    ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  }
}

TEST(LocalLog, ReplaysEveryRecordInOrderAfterReopen) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  WriteRecords(fs.get(), dir.path(), 50);
  Replayed replayed;
  auto log = OpenLog(fs.get(), dir.path(), &replayed);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(replayed.lsns.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(replayed.lsns[i], static_cast<Lsn>(i + 1));
    EXPECT_EQ(replayed.payloads[i], "payload-" + std::to_string(i));
  }
  EXPECT_EQ((*log)->LastLsn(), 50u);
  auto next = (*log)->Append(RecordType::kDelete, "after");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 51u);
}

TEST(LocalLog, ConcurrentAppendsGetDistinctContiguousLsns) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  Replayed none;
  auto log = OpenLog(fs.get(), dir.path(), &none);
  ASSERT_TRUE(log.ok());
  constexpr int kThreads = 8, kPerThread = 40;
  std::vector<std::vector<Lsn>> got(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto lsn = (*log)->Append(RecordType::kInsert, std::to_string(t) + ":" + std::to_string(i));
        ASSERT_TRUE(lsn.ok());
        got[t].push_back(*lsn);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<Lsn> all;
  for (auto& v : got) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));  // one writer's records keep their order
    all.insert(v.begin(), v.end());
  }
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<Lsn>(kThreads * kPerThread));
  log->reset();
  Replayed replayed;
  ASSERT_TRUE(OpenLog(fs.get(), dir.path(), &replayed).ok());
  EXPECT_EQ(replayed.lsns.size(), all.size());
}

TEST(LocalLog, RotatesFilesAndReplaysAcrossThem) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  Replayed none;
  LocalLogOptions small{.max_file_bytes = 200};
  {
    auto log = OpenLog(fs.get(), dir.path(), &none, small);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 30; ++i)
      ASSERT_TRUE((*log)->Append(RecordType::kInsert, std::string(40, 'a' + i % 26)).ok());
  }
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path()))
    files += e.path().extension() == ".wal";
  EXPECT_GT(files, 3u);
  Replayed replayed;
  ASSERT_TRUE(OpenLog(fs.get(), dir.path(), &replayed, small).ok());
  EXPECT_EQ(replayed.lsns.size(), 30u);
}

// A trim queued behind a batch whose sync fails returns (failed) instead of
// waiting forever for a turn the poisoned log never gives it.
TEST(LocalLog, TrimQueuedBehindAFailedSyncReturns) {
  TempDir dir;
  testing::SyncFailingFileSystem fs;
  Replayed none;
  auto log = OpenLog(&fs, dir.path(), &none);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(RecordType::kInsert, "first").ok());
  fs.fail_syncs = true;
  // Many appends and trims at once: some trim queues behind a failing leader.
  std::vector<std::future<void>> all;
  for (int i = 0; i < 8; ++i) {
    all.push_back(
        std::async(std::launch::async, [&] { (void)(*log)->Append(RecordType::kInsert, "x"); }));
    all.push_back(std::async(std::launch::async, [&] { (void)(*log)->TrimBefore(2); }));
  }
  for (auto& f : all) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready)
        << "a trim or append waited forever behind a poisoned log";
  }
  EXPECT_FALSE((*log)->Health().ok());
}

// T3: cut the last records at every byte; recovery keeps exactly the whole
// records before the cut and the log accepts new records afterwards.
TEST(LocalLog, RecoversAfterTornTailAtEveryByte) {
  TempDir source;
  auto fs = NewPosixFileSystem();
  WriteRecords(fs.get(), source.path(), 3);
  const std::string original = *fs->ReadFile(OnlyWalFile(source.path()));
  // Offsets where records end: the header, then each frame.
  std::vector<size_t> ends = {wal::kFileMagic.size()};
  for (int i = 0; i < 3; ++i) ends.push_back(ends.back() + wal::kFrameHeaderSize + 9);
  ASSERT_EQ(ends.back(), original.size());

  for (size_t cut = ends[1]; cut < original.size(); ++cut) {
    TempDir dir;
    const std::string path = JoinPath(dir.path(), wal::FileName(1));
    std::ofstream(path, std::ios::binary) << original.substr(0, cut);
    Replayed replayed;
    auto log = OpenLog(fs.get(), dir.path(), &replayed);
    ASSERT_TRUE(log.ok()) << "cut at " << cut << ": " << log.status().ToString();
    const size_t whole = std::upper_bound(ends.begin(), ends.end(), cut) - ends.begin() - 1;
    EXPECT_EQ(replayed.lsns.size(), whole) << "cut at " << cut;
    EXPECT_EQ(std::filesystem::file_size(path), ends[whole]) << "tail truncated";
    auto lsn = (*log)->Append(RecordType::kInsert, "new");
    ASSERT_TRUE(lsn.ok());
    EXPECT_EQ(*lsn, whole + 1);
  }
}

TEST(LocalLog, TruncatesZeroedTail) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  WriteRecords(fs.get(), dir.path(), 4);
  const std::string path = OnlyWalFile(dir.path());
  std::ofstream(path, std::ios::binary | std::ios::app) << std::string(4096, '\0');
  Replayed replayed;
  ASSERT_TRUE(OpenLog(fs.get(), dir.path(), &replayed).ok());
  EXPECT_EQ(replayed.lsns.size(), 4u);
}

TEST(LocalLog, RefusesCorruptRecordFollowedByValidRecords) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  WriteRecords(fs.get(), dir.path(), 5);
  const std::string path = OnlyWalFile(dir.path());
  std::string data = *fs->ReadFile(path);
  const size_t second_record = wal::kFileMagic.size() + wal::kFrameHeaderSize + 9;
  data[second_record + wal::kFrameHeaderSize + 2] ^= 0x10;  // a bit in record 2's payload
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  Replayed replayed;
  auto log = OpenLog(fs.get(), dir.path(), &replayed);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
  EXPECT_NE(log.status().message().find(path), std::string::npos);
  EXPECT_NE(log.status().message().find("offset " + std::to_string(second_record)),
            std::string::npos);
  EXPECT_EQ(fs->ReadFile(path).value(), data) << "a refused log is left untouched";
}

TEST(LocalLog, FlippedBitInEveryPositionIsNeverReplayed) {
  TempDir source;
  auto fs = NewPosixFileSystem();
  WriteRecords(fs.get(), source.path(), 2);
  const std::string original = *fs->ReadFile(OnlyWalFile(source.path()));
  for (size_t byte = wal::kFileMagic.size(); byte < original.size(); ++byte) {
    TempDir dir;
    std::string data = original;
    data[byte] ^= 0x04;
    std::ofstream(JoinPath(dir.path(), wal::FileName(1)), std::ios::binary) << data;
    Replayed replayed;
    auto log = OpenLog(fs.get(), dir.path(), &replayed);
    // Damage in record 1 with record 2 intact is refused; damage in record 2
    // (the tail) is truncated. Either way no damaged record is replayed.
    for (size_t i = 0; i < replayed.payloads.size(); ++i) {
      EXPECT_EQ(replayed.payloads[i], "payload-" + std::to_string(i)) << "byte " << byte;
    }
    if (log.ok()) {
      EXPECT_LE(replayed.lsns.size(), 1u) << "byte " << byte;
    }
  }
}

TEST(LocalLog, OnlyOneInstancePerDirectory) {
  TempDir dir;
  auto fs = NewPosixFileSystem();
  Replayed none;
  auto first = OpenLog(fs.get(), dir.path(), &none);
  ASSERT_TRUE(first.ok());
  auto second = OpenLog(fs.get(), dir.path(), &none);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  first->reset();
  EXPECT_TRUE(OpenLog(fs.get(), dir.path(), &none).ok()) << "the lock goes with the log";
}

TEST(LocalLog, DiskFullRefusesTheBatchWithoutPoisoning) {
  TempDir dir;
  FaultInjectionFileSystem fs(NewPosixFileSystem());
  Replayed none;
  auto log = OpenLog(&fs, dir.path(), &none);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(RecordType::kInsert, "one").ok());
  fs.FailNth(FsOp::kAppend, 1, Status::NoSpace("injected ENOSPC"), /*short_write=*/true);
  auto full = (*log)->Append(RecordType::kInsert, "refused");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), StatusCode::kNoSpace);
  EXPECT_TRUE((*log)->Health().ok()) << "a refused write does not poison the log";
  auto next = (*log)->Append(RecordType::kInsert, "two");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 2u) << "the refused batch's LSN is handed back";

  fs.FailNth(FsOp::kCreate, 1, Status::NoSpace("injected ENOSPC on create"));
  (*log)->StartNewFile();
  EXPECT_EQ((*log)->Append(RecordType::kInsert, "refused too").status().code(),
            StatusCode::kNoSpace);
  EXPECT_EQ(*(*log)->Append(RecordType::kInsert, "three"), 3u);
  log->reset();
  Replayed replayed;
  ASSERT_TRUE(OpenLog(&fs, dir.path(), &replayed).ok());
  EXPECT_EQ(replayed.payloads, (std::vector<std::string>{"one", "two", "three"}));
}

// D4: after a failed sync the log acknowledges nothing more.
TEST(LocalLog, FailedSyncPoisonsTheLog) {
  TempDir dir;
  testing::SyncFailingFileSystem fs;
  Replayed none;
  auto log = OpenLog(&fs, dir.path(), &none);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(RecordType::kInsert, "durable").ok());
  fs.fail_syncs = true;
  auto failed = (*log)->Append(RecordType::kInsert, "lost");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  fs.fail_syncs = false;
  auto later = (*log)->Append(RecordType::kInsert, "after recovery of the disk");
  EXPECT_FALSE(later.ok()) << "a poisoned log must not acknowledge later writes";
  EXPECT_FALSE((*log)->Health().ok());
  EXPECT_EQ((*log)->LastLsn(), 1u);
}

}  // namespace
}  // namespace quiver
