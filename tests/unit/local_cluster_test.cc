// The pieces of the local cluster launcher that need no service: processes
// known by PID and command line (local_process.h) and the cluster.json record
// (cluster_record.h). tests/e2e/test_cluster_launcher.py runs the launcher.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "cluster/cluster_record.h"
#include "cluster/local_process.h"
#include "test_util.h"

namespace quiver {
namespace {

using namespace std::chrono_literals;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(LocalProcess, AMissingBinaryIsNotFoundAndStartsNothing) {
  testing::TempDir dir;
  auto spawned = SpawnProcess({.argv = {"quiver-no-such-binary"}, .log = dir.path() + "/log"});
  EXPECT_EQ(spawned.status().code(), StatusCode::kNotFound);
  auto by_path = SpawnProcess({.argv = {dir.path() + "/missing"}, .log = dir.path() + "/log"});
  EXPECT_EQ(by_path.status().code(), StatusCode::kNotFound);
}

TEST(LocalProcess, APidIsTrustedOnlyWithItsCommandLine) {
  testing::TempDir dir;
  auto sleeper = SpawnProcess({.argv = {"sleep", "30"}, .log = dir.path() + "/log"});
  ASSERT_TRUE(sleeper.ok()) << sleeper.status().ToString();
  EXPECT_EQ(sleeper->argv[0].front(), '/') << "the path found on PATH is what runs";
  EXPECT_TRUE(ProcessRunning(sleeper->pid, sleeper->argv));
  EXPECT_TRUE(ProcessRunning(sleeper->pid, {}));
  EXPECT_FALSE(ProcessRunning(sleeper->pid, {sleeper->argv[0], "31"})) << "another command";
  EXPECT_TRUE(StopProcesses({*sleeper}, 5s).ok());
  EXPECT_FALSE(ProcessRunning(sleeper->pid, sleeper->argv));
  EXPECT_FALSE(ProcessRunning(0, {}));
}

TEST(LocalProcess, StopKillsWhatIgnoresSigterm) {
  testing::TempDir dir;
  auto stubborn = SpawnProcess({.argv = {"sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"},
                                .log = dir.path() + "/log"});
  ASSERT_TRUE(stubborn.ok()) << stubborn.status().ToString();
  std::this_thread::sleep_for(100ms);  // until the trap is set
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(StopProcesses({*stubborn}, 200ms).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_FALSE(ProcessRunning(stubborn->pid, {}));
}

TEST(LocalProcess, TheChildGetsItsEnvironmentDirectoryAndLog) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/out.log";
  std::ofstream(log) << "before\n";
  Status ran = RunToEnd({.argv = {"sh", "-c",
                                  "echo \"$QUIVER_TEST_VALUE $(pwd)\"; read x; echo "
                                  "\"read=$x\""},
                         .log = log,
                         .env = {{"QUIVER_TEST_VALUE", "forty-two"}},
                         .cwd = dir.path()},
                        10s);
  ASSERT_TRUE(ran.ok()) << ran.ToString();
  EXPECT_EQ(ReadAll(log), "before\nforty-two " + dir.path() + "\nread=\n")
      << "appended, stdin empty";
}

TEST(LocalProcess, AFailedCommandNamesItsStatusAndLog) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/out.log";
  Status failed = RunToEnd({.argv = {"sh", "-c", "echo boom-detail; exit 3"}, .log = log}, 10s);
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("status 3"), std::string::npos) << failed.ToString();
  EXPECT_NE(failed.message().find("boom-detail"), std::string::npos) << failed.ToString();
  Status slow = RunToEnd({.argv = {"sleep", "30"}, .log = log}, 100ms);
  EXPECT_EQ(slow.code(), StatusCode::kUnavailable) << slow.ToString();
}

TEST(LocalProcess, PortsAreDistinctAndBelowTheEphemeralRange) {
  PortPicker ports;
  std::set<int> seen;
  for (int i = 0; i < 50; ++i) {
    auto port = ports.Next();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    EXPECT_LT(*port, 32768);
    EXPECT_TRUE(seen.insert(*port).second) << *port;
  }
}

TEST(LocalProcess, TailOfFileStartsAtALine) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/log";
  std::ofstream(path) << "first line\nsecond line\nthird\n";
  EXPECT_EQ(TailOfFile(path, 1000), "first line\nsecond line\nthird\n");
  EXPECT_EQ(TailOfFile(path, 15), "third\n");
  EXPECT_EQ(TailOfFile(dir.path() + "/missing"), "");
}

ClusterRecord SampleRecord() {
  ClusterRecord r;
  r.dir = "/tmp/c";
  r.nodes = 1;
  r.dispatchers = 1;
  r.nats = 1;
  r.object_store_kind = "rgw";
  r.etcd = "127.0.0.1:2379";
  r.nats_servers = "nats://127.0.0.1:4222";
  r.object_store = "s3:http://127.0.0.1:7480/quiver";
  r.s3_endpoint = "http://127.0.0.1:7480";
  r.s3_bucket = "quiver";
  r.s3_access_key = "AK";
  r.s3_secret_key = "SK";
  ProcessRecord osd;
  osd.name = osd.role = "ceph-osd";
  osd.pid = 11;
  osd.argv = {"/usr/bin/ceph-osd", "-f"};
  osd.log = "/tmp/c/logs/ceph-osd.log";
  osd.started_at = "2024-01-01T00:00:00Z";
  ProcessRecord node = osd;
  node.name = "node-1";
  node.role = "node";
  node.pid = 12;
  node.url = "http://127.0.0.1:9000";
  node.ports = {{"grpc", 9001}, {"http", 9000}};
  node.env = {{"QUIVER_S3_ACCESS_KEY", "AK"}};
  ProcessRecord dispatcher = node;
  dispatcher.name = "dispatcher-1";
  dispatcher.role = "dispatcher";
  dispatcher.url = "http://127.0.0.1:9100";
  r.processes = {osd, node, dispatcher};
  r.complete = true;
  return r;
}

TEST(ClusterRecord, RoundTripsThroughItsFile) {
  const ClusterRecord r = SampleRecord();
  auto back = DecodeClusterRecord(EncodeClusterRecord(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EncodeClusterRecord(*back), EncodeClusterRecord(r));
  ASSERT_EQ(back->processes.size(), 3u);
  EXPECT_EQ(back->processes[0].url, "") << "no URL is null and back";
  EXPECT_EQ(back->processes[1].env, r.processes[1].env);
  EXPECT_EQ(back->processes[1].ports.at("grpc"), 9001);
  EXPECT_TRUE(back->complete);
  EXPECT_EQ(back->DispatcherUrls(), std::vector<std::string>{"http://127.0.0.1:9100"});
}

TEST(ClusterRecord, ABrokenFileIsCorruption) {
  EXPECT_EQ(DecodeClusterRecord("{").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeClusterRecord("{\"format_version\": 1}").status().code(),
            StatusCode::kCorruption);
  std::string other = EncodeClusterRecord(SampleRecord());
  other.replace(other.find("\"format_version\": 1"), 19, "\"format_version\": 9");
  EXPECT_EQ(DecodeClusterRecord(other).status().code(), StatusCode::kCorruption);
}

TEST(ClusterRecord, TheDescriptionHasTheProcessesAndTheirLiveness) {
  const ClusterRecord r = SampleRecord();
  const std::string up = DescribeCluster(r, nullptr);
  EXPECT_EQ(up.find("alive"), std::string::npos);
  EXPECT_EQ(up.find("argv"), std::string::npos) << "the record's details stay in the file";
  EXPECT_NE(up.find("\"dispatchers\": [\n    \"http://127.0.0.1:9100\"\n  ]"), std::string::npos)
      << up;
  const std::vector<bool> alive = {true, false, true};
  const std::string status = DescribeCluster(r, &alive);
  EXPECT_NE(status.find("\"pid\": 12,\n      \"url\": \"http://127.0.0.1:9000\",\n      "
                        "\"alive\": false"),
            std::string::npos)
      << status;
}

}  // namespace
}  // namespace quiver
