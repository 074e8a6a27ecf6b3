// The Log contract (wal/log.h), written once for every implementation: the
// local WAL and the JetStream stream of a cluster.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "cluster/local_process.h"
#include "cluster/nats_config.h"
#include "cluster/nats_log.h"
#include "nats_server.h"
#include "test_util.h"
#include "wal/local_log.h"

namespace quiver {
namespace {

using namespace std::chrono_literals;
// Opens the log kept at `dir` (the same dir: the same log, reopened).
using LogFactory = std::function<std::unique_ptr<Log>(const std::string& dir)>;

class LogContract : public ::testing::TestWithParam<LogFactory> {
 protected:
  std::unique_ptr<Log> Open() {
    auto log = GetParam()(dir_.path());
    EXPECT_TRUE(log);
    return log;
  }
  testing::TempDir dir_{/*in_memory=*/true};
};

std::string PayloadOf(Lsn lsn) {
  return "record-" + std::to_string(lsn) + std::string(30, 'x');
}

// A reader started at any LSN sees every record from there in order,
// including records appended while it reads; trimmed records are NotFound.
TEST_P(LogContract, ReadFromFollowsAppendsAndReportsTrimmedRecords) {
  auto log = Open();
  for (Lsn lsn = 1; lsn <= 20; ++lsn) {
    auto appended = log->Append(RecordType::kInsert, PayloadOf(lsn));
    ASSERT_TRUE(appended.ok()) << appended.status().ToString();
    ASSERT_EQ(*appended, lsn);
  }
  EXPECT_EQ(log->LastLsn(), 20u);
  auto reader = log->ReadFrom(7);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  Lsn expected = 7;
  auto read_to = [&](Lsn last) {
    while (expected <= last) {
      auto record = (*reader)->Next(30s);
      ASSERT_TRUE(record.ok()) << record.status().ToString();
      ASSERT_TRUE(*record) << "record " << expected << " never came";
      ASSERT_EQ((*record)->lsn, expected);
      ASSERT_EQ((*record)->payload, PayloadOf(expected));
      ++expected;
    }
    auto none = (*reader)->Next(20ms);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(*none) << "nothing after the last record";
  };
  read_to(20);
  // Appended after the reader reached the end: the same reader goes on.
  for (Lsn lsn = 21; lsn <= 35; ++lsn)
    ASSERT_TRUE(log->Append(RecordType::kDelete, PayloadOf(lsn)).ok());
  read_to(35);
  // A checkpoint at 30 lets the log drop what is below 31.
  log->RollOver();
  ASSERT_TRUE(log->Append(RecordType::kInsert, PayloadOf(36)).ok());
  ASSERT_TRUE(log->TrimBefore(31).ok());
  auto trimmed = log->ReadFrom(3);
  if (trimmed.ok()) {
    EXPECT_EQ((*trimmed)->Next(30s).status().code(), StatusCode::kNotFound);
  } else {
    EXPECT_EQ(trimmed.status().code(), StatusCode::kNotFound);
  }
  auto kept = log->ReadFrom(36);
  ASSERT_TRUE(kept.ok());
  auto record = (*kept)->Next(30s);
  ASSERT_TRUE(record.ok() && *record);
  EXPECT_EQ((*record)->lsn, 36u);
  EXPECT_EQ((*record)->type, RecordType::kInsert);
}

// A reader following a log that eight threads append to at once reads every
// record exactly once, in order, never a half-written one.
TEST_P(LogContract, ReaderFollowingConcurrentAppendsSeesEveryRecordOnce) {
  auto log = Open();
  constexpr int kThreads = 8, kPerThread = 40;
  constexpr Lsn kTotal = kThreads * kPerThread;
  std::vector<std::thread> writers;
  writers.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string payload(100 + t * 7 + i, static_cast<char>('a' + t));
        ASSERT_TRUE(log->Append(RecordType::kInsert, payload).ok());
      }
    });
  }
  auto reader = log->ReadFrom(1);
  ASSERT_TRUE(reader.ok());
  Lsn expected = 1;
  std::vector<int> per_writer(kThreads);
  while (expected <= kTotal) {
    auto record = (*reader)->Next(30s);
    ASSERT_TRUE(record.ok()) << record.status().ToString();
    ASSERT_TRUE(*record) << "record " << expected << " never came";
    ASSERT_EQ((*record)->lsn, expected);
    const std::string_view payload = (*record)->payload;
    const int writer = payload[0] - 'a';
    ASSERT_TRUE(writer >= 0 && writer < kThreads);
    EXPECT_EQ(payload.size(), 100u + writer * 7 + per_writer[writer]) << "each writer's in order";
    EXPECT_EQ(payload.find_first_not_of(payload[0]), std::string_view::npos) << "whole";
    ++per_writer[writer];
    ++expected;
  }
  for (auto& w : writers) w.join();
  auto after = (*reader)->Next(20ms);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(*after) << "nothing beyond the last record";
  EXPECT_EQ(log->LastLsn(), kTotal);
}

TEST_P(LogContract, RecordsSurviveReopening) {
  {
    auto log = Open();
    for (Lsn lsn = 1; lsn <= 5; ++lsn)
      ASSERT_TRUE(log->Append(RecordType::kInsert, PayloadOf(lsn)).ok());
  }
  auto log = Open();
  EXPECT_EQ(log->LastLsn(), 5u);
  auto reader = log->ReadFrom(4);
  ASSERT_TRUE(reader.ok());
  auto record = (*reader)->Next(30s);
  ASSERT_TRUE(record.ok() && *record);
  EXPECT_EQ((*record)->payload, PayloadOf(4));
  auto next = log->Append(RecordType::kDelete, "after");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 6u) << "LSNs go on without a gap";
}

INSTANTIATE_TEST_SUITE_P(Local, LogContract,
                         ::testing::Values(LogFactory([](const std::string& dir) {
                           static const std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
                           // Small files: reads and trims cross file boundaries.
                           auto log = LocalLog::Open(fs.get(), dir, {.max_file_bytes = 200}, 0,
                                                     [](const LogRecord&) { return Status::OK(); });
                           EXPECT_TRUE(log.ok()) << log.status().ToString();
                           return log.ok() ? std::unique_ptr<Log>(std::move(*log)) : nullptr;
                         })));

std::shared_ptr<NatsClient> TestNatsClient() {
  static const std::shared_ptr<NatsClient> client = [] {
    auto connected = ConnectNats({.servers = testing::NatsServer::Get().url()});
    if (!connected.ok()) throw std::runtime_error(connected.status().ToString());
    return *connected;
  }();
  return client;
}

// A stream per test, named after the test's directory.
std::string StreamFor(const std::string& dir) {
  std::string name = std::filesystem::path(dir).filename().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// The same contract against a real nats-server 2.9 with JetStream (Debian's
// nats-server), started by the test on 127.0.0.1 and stopped by its PID.
INSTANTIATE_TEST_SUITE_P(Nats, LogContract,
                         ::testing::Values(LogFactory([](const std::string& dir) {
                           auto log = OpenNatsLog(TestNatsClient(), {.stream = StreamFor(dir)});
                           EXPECT_TRUE(log.ok()) << log.status().ToString();
                           return log.ok() ? std::move(*log) : nullptr;
                         })));

TEST(NatsLog, ARetriedAppendWithTheSameRequestIdIsStoredOnce) {
  testing::TempDir dir(/*in_memory=*/true);
  auto log = OpenNatsLog(TestNatsClient(), {.stream = StreamFor(dir.path())});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  auto first = (*log)->Append(RecordType::kInsert, "rows", "request-1");
  auto retried = (*log)->Append(RecordType::kInsert, "rows", "request-1");
  auto other = (*log)->Append(RecordType::kInsert, "rows", "request-2");
  ASSERT_TRUE(first.ok() && retried.ok() && other.ok()) << first.status().ToString();
  EXPECT_EQ(*retried, *first) << "the retry is answered with the first record's LSN";
  EXPECT_EQ(*other, *first + 1);
  EXPECT_EQ((*log)->LastLsn(), *other) << "stored once";
}

TEST(NatsLog, ARecordLargerThanTheServerTakesIsRefusedAndChangesNothing) {
  testing::TempDir dir(/*in_memory=*/true);
  auto log = OpenNatsLog(TestNatsClient(), {.stream = StreamFor(dir.path())});
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(RecordType::kInsert, "small").ok());
  auto big = (*log)->Append(RecordType::kInsert, std::string(9u << 20, 'b'));
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(big.status().message().find("larger than the log's largest message"), std::string::npos)
      << big.status().ToString();
  EXPECT_EQ((*log)->LastLsn(), 1u);
  EXPECT_EQ(OpenNatsLog(TestNatsClient(), {.stream = "a.b"}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(NatsLog, NoServerIsUnavailableWithinTheDeadline) {
  auto port = PortPicker().Next();
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  auto client =
      ConnectNats({.servers = "nats://127.0.0.1:" + std::to_string(*port), .deadline = 500ms});
  EXPECT_EQ(client.status().code(), StatusCode::kUnavailable);
}

// The generated server configuration: what 2.9 accepts (checked by the real
// server), and the flush-before-ack setting for 2.10 and later.
TEST(NatsConfig, TheServerAcceptsTheGeneratedClusterConfig) {
  testing::TempDir dir;
  NatsServerConfig config;
  config.name = "n1";
  config.port = 4301;
  config.store_dir = dir.path() + "/store";
  config.cluster_port = 6301;
  config.routes = {"nats-route://127.0.0.1:6302", "nats-route://127.0.0.1:6303"};
  const std::string text = RenderNatsConfig(config);
  EXPECT_EQ(text.find("sync_interval"), std::string::npos) << "2.9 refuses it";
  EXPECT_NE(text.find("host: \"127.0.0.1\""), std::string::npos);
  const std::string path = dir.path() + "/n1.conf";
  std::ofstream(path) << text;
  const std::string check = "nats-server -t -c " + path + " > " + dir.path() + "/t.log 2>&1";
  EXPECT_EQ(std::system(check.c_str()), 0) << text;

  config.version_minor = 10;
  EXPECT_NE(RenderNatsConfig(config).find("sync_interval: always"), std::string::npos);
  config.version_major = 3;
  config.version_minor = 0;
  EXPECT_NE(RenderNatsConfig(config).find("sync_interval: always"), std::string::npos);

  EXPECT_EQ(ParseNatsVersion("nats-server: v2.9.10"), std::make_pair(2, 9));
  EXPECT_EQ(ParseNatsVersion("nats-server: v2.10.1\n"), std::make_pair(2, 10));
  EXPECT_FALSE(ParseNatsVersion("nats-server"));
}

}  // namespace
}  // namespace quiver
