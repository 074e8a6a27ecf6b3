// The ObjectStore contract (io/object_store.h), written once for every
// implementation: the local directory and the S3 adapter against a real
// Ceph RGW the test starts (rgw_server.h). Then what only S3 has: keys and
// buckets that are refused, endpoints that fail, retries.

#include "io/object_store.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <thread>

#include "cluster/s3_object_store.h"
#include "rgw_server.h"
#include "test_util.h"

namespace quiver {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kMiB = 1 << 20;

// Opens a store whose objects live under `scope` (a path in the test's
// temporary directory); stores of different scopes do not see each other.
struct Backend {
  std::string name;
  bool needs_rgw = false;
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

// What the S3 stores of these tests share: the test server's bucket, small
// pages and parts, so listing pages and multipart uploads are exercised
// with little data (5 MiB is S3's smallest part but the last).
S3Options RgwOptions(std::string prefix) {
  auto& rgw = testing::RgwServer::Get();
  S3Options options;
  options.endpoint = rgw.endpoint();
  options.bucket = "quiver-test";
  options.access_key = rgw.access_key();
  options.secret_key = rgw.secret_key();
  options.prefix = std::move(prefix);
  options.multipart_threshold = 5 * kMiB;
  options.part_size = 5 * kMiB;
  options.list_page_size = 10;
  return options;
}

// The test server, started and its bucket created once per process.
::testing::AssertionResult RgwReady() {
  const auto& rgw = testing::RgwServer::Get();
  if (!rgw.error().empty()) return ::testing::AssertionFailure() << rgw.error();
  static const Status created = CreateBucket(RgwOptions(""));
  if (!created.ok()) return ::testing::AssertionFailure() << created.ToString();
  return ::testing::AssertionSuccess();
}

class ObjectStoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam().needs_rgw) {
      ASSERT_TRUE(RgwReady());
    }
    store_ = Open("store");
  }
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
                         ::testing::Values(Backend{"Local", false,
                                                   [](const std::string& scope) {
                                                     static const std::unique_ptr<FileSystem> fs =
                                                         NewPosixFileSystem();
                                                     return NewLocalObjectStore(fs.get(), scope);
                                                   }}),
                         [](const auto& info) { return info.param.name; });

// Every test's objects live under a prefix of their own in one bucket.
INSTANTIATE_TEST_SUITE_P(S3, ObjectStoreContract,
                         ::testing::Values(Backend{"Rgw", true,
                                                   [](const std::string& scope) {
                                                     const std::filesystem::path path(scope);
                                                     return NewS3ObjectStore(RgwOptions(
                                                         "test/" +
                                                         path.parent_path().filename().string() +
                                                         "/" + path.filename().string() + "/"));
                                                   }}),
                         [](const auto& info) { return info.param.name; });

// --- What only the S3 adapter has, against the real server.

class RgwS3ObjectStore : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(RgwReady()); }
  // A prefix no other test uses.
  std::string Prefix() const {
    return "test/" + std::filesystem::path(dir_.path()).filename().string() + "/";
  }
  testing::TempDir dir_;
};

TEST_F(RgwS3ObjectStore, AWrongSecretKeyIsRefusedAndChangesNothing) {
  auto store = NewS3ObjectStore(RgwOptions(Prefix()));
  ASSERT_TRUE(store->Put("kept", "original").ok());
  S3Options wrong = RgwOptions(Prefix());
  wrong.secret_key = "not-the-secret";
  auto impostor = NewS3ObjectStore(wrong);
  const Status put = impostor->Put("kept", "overwritten");
  EXPECT_EQ(put.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(put.message().find("SignatureDoesNotMatch"), std::string::npos) << put.ToString();
  EXPECT_NE(put.message().find("kept"), std::string::npos) << put.ToString();
  EXPECT_EQ(impostor->Put("new", "x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(impostor->Delete("kept").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(impostor->Get("kept").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(impostor->Size("kept").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(impostor->List("").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(store->Get("kept").value(), "original");
  EXPECT_EQ(store->List("").value(), (std::vector<std::string>{"kept"}));
}

TEST_F(RgwS3ObjectStore, AMissingBucketIsAClearError) {
  S3Options options = RgwOptions(Prefix());
  options.bucket = "no-such-bucket";
  auto store = NewS3ObjectStore(options);
  for (const Status& status : {store->Put("a", "x"), store->Get("a").status(),
                               store->List("").status(), store->Delete("a")}) {
    EXPECT_EQ(status.code(), StatusCode::kNotFound) << status.ToString();
    EXPECT_NE(status.message().find("bucket 'no-such-bucket' does not exist"), std::string::npos)
        << status.ToString();
  }
}

TEST_F(RgwS3ObjectStore, CreatingABucketTwiceIsFine) {
  S3Options options = RgwOptions("");
  options.bucket = "quiver-twice";
  ASSERT_TRUE(CreateBucket(options).ok());
  ASSERT_TRUE(CreateBucket(options).ok());
  EXPECT_TRUE(NewS3ObjectStore(options)->List("").value().empty());
}

// RGW refuses parts under 5 MiB (but the last) when the upload completes:
// the upload is aborted and the old object stays whole.
TEST_F(RgwS3ObjectStore, AFailedMultipartUploadLeavesTheOldObject) {
  S3Options options = RgwOptions(Prefix());
  options.multipart_threshold = kMiB;
  options.part_size = kMiB;
  auto store = NewS3ObjectStore(options);
  ASSERT_TRUE(store->Put("object", "old").ok());
  const Status put = store->Put("object", SeededBytes(3 * kMiB, /*seed=*/3));
  EXPECT_EQ(put.code(), StatusCode::kInvalidArgument) << put.ToString();
  EXPECT_NE(put.message().find("EntityTooSmall"), std::string::npos) << put.ToString();
  EXPECT_EQ(store->Get("object").value(), "old");
  EXPECT_EQ(store->List("").value(), (std::vector<std::string>{"object"}));
}

// --- Without a server: failures the adapter must turn into clear errors.

// A loopback port nobody listens on.
int DeadPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                     getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
  close(fd);
  return bound ? ntohs(addr.sin_port) : 1;  // port 1: nobody listens there either
}

S3Options OfflineOptions(int port) {
  S3Options options;
  options.endpoint = "http://127.0.0.1:" + std::to_string(port);
  options.bucket = "bucket";
  options.access_key = "key";
  options.secret_key = "secret";
  return options;
}

TEST(S3ObjectStore, AnEndpointThatIsNotListeningIsUnavailableWithinTheDeadline) {
  S3Options options = OfflineOptions(DeadPort());
  options.deadline = 1500ms;
  options.max_attempts = 1000;  // the deadline ends the retries
  auto store = NewS3ObjectStore(options);
  const auto start = std::chrono::steady_clock::now();
  const Status put = store->Put("a", "x");
  const auto spent = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(put.code(), StatusCode::kUnavailable) << put.ToString();
  EXPECT_LT(spent, 2500ms);
  options.max_attempts = 3;  // the attempts end them
  EXPECT_EQ(NewS3ObjectStore(options)->Get("a").status().code(), StatusCode::kUnavailable);
}

TEST(S3ObjectStore, InvalidKeysAreRefusedBeforeAnyRequest) {
  // Any request would take the whole deadline to fail: none is sent.
  S3Options options = OfflineOptions(DeadPort());
  options.deadline = 60s;
  auto store = NewS3ObjectStore(options);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(store->Put("../escape", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Get("a//b").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->GetRange("", 0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Size("a b").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Delete("/abs").code(), StatusCode::kInvalidArgument);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

// A stand-in S3 on 127.0.0.1 that answers every GET from a script.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(int request, httplib::Response&)> answer)
      : answer_(std::move(answer)) {
    server_.Get(".*", [this](const httplib::Request&, httplib::Response& response) {
      answer_(++requests_, response);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // Bound and listening already: requests queue until the thread accepts.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ScriptedServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_; }

 private:
  std::function<void(int, httplib::Response&)> answer_;
  std::atomic<int> requests_{0};
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

void Answer(httplib::Response& response, int status, const std::string& code) {
  response.status = status;
  response.set_content("<Error><Code>" + code + "</Code><Message>scripted</Message></Error>",
                       "application/xml");
}

TEST(S3ObjectStore, ServerErrorsAreRetriedAndClientErrorsAreNot) {
  ScriptedServer flaky([](int request, httplib::Response& response) {
    if (request == 1) return Answer(response, 503, "SlowDown");
    if (request == 2) return Answer(response, 500, "InternalError");
    response.set_content("payload", "application/octet-stream");
  });
  auto got = NewS3ObjectStore(OfflineOptions(flaky.port()))->Get("a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "payload");
  EXPECT_EQ(flaky.requests(), 3);

  ScriptedServer refusing(
      [](int, httplib::Response& response) { Answer(response, 400, "InvalidRequest"); });
  EXPECT_EQ(NewS3ObjectStore(OfflineOptions(refusing.port()))->Get("a").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refusing.requests(), 1) << "a 4xx is not retried";

  ScriptedServer down(
      [](int, httplib::Response& response) { Answer(response, 503, "ServiceUnavailable"); });
  S3Options options = OfflineOptions(down.port());
  options.max_attempts = 3;
  const Status failed = NewS3ObjectStore(options)->Get("a").status();
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable);
  EXPECT_NE(failed.message().find("503"), std::string::npos) << failed.ToString();
  EXPECT_EQ(down.requests(), 3);
}

}  // namespace
}  // namespace quiver
