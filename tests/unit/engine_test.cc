#include "engine/engine.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "catalog/catalog.h"
#include "common/coding.h"
#include "common/log.h"
#include "common/names.h"
#include "test_util.h"

namespace quiver {
namespace {

using testing::TempDir;

TableSchema Schema(const std::string& name) {
  return {name,
          {{"id", DataType::kString, true},
           {"meta", DataType::kJson},
           {"v", DataType::kVectorFloat, false, 3, Metric::kCosine}}};
}

std::unique_ptr<Engine> OpenEngine(const std::string& dir) {
  auto engine = Engine::Open(NewPosixFileSystem(), {dir, {}});
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

TEST(Engine, CatalogSurvivesRestartAndUnloadedDatabasesStayClosed) {
  TempDir dir;
  {
    auto engine = OpenEngine(dir.path());
    ASSERT_TRUE(engine->LoadDatabase("a", {"/client/path", 0, true}).ok());
    ASSERT_TRUE(engine->LoadDatabase("b", {}).ok());
    ASSERT_TRUE(engine->CreateTable("a", Schema("t1")).ok());
    ASSERT_TRUE(engine->CreateTable("a", Schema("t2")).ok());
    ASSERT_TRUE(engine->CreateTable("b", Schema("t1")).ok());
    ASSERT_TRUE(engine->UnloadDatabase("b").ok());
    auto again = engine->LoadDatabase("a", {});
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again) << "loading a loaded database is harmless";
  }
  auto engine = OpenEngine(dir.path());
  EXPECT_EQ(*engine->ListTables("a"), (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(engine->ListTables("b").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(engine->LoadDatabase("b", {}).ok());
  EXPECT_EQ(*engine->ListTables("b"), (std::vector<std::string>{"t1"}));
  auto info = engine->DescribeTable("a", "t2");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->schema.fields[2].metric, Metric::kCosine);
}

TEST(Engine, DropRemovesFilesAndNamesCanBeReused) {
  TempDir dir;
  auto engine = OpenEngine(dir.path());
  ASSERT_TRUE(engine->LoadDatabase("db", {}).ok());
  ASSERT_TRUE(engine->CreateTable("db", Schema("t")).ok());
  EXPECT_EQ(engine->CreateTable("db", Schema("t")).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(engine->DropTable("db", "t").ok());
  ASSERT_TRUE(engine->CreateTable("db", Schema("t")).ok());
  auto table = engine->FindTable("db", "t");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ((*table)->RowCount(), 0u);
  ASSERT_TRUE(engine->DropDatabase("db").ok());
  EXPECT_TRUE(std::filesystem::is_empty(JoinPath(dir.path(), "dbs")));
  EXPECT_EQ(engine->DropDatabase("db").code(), StatusCode::kNotFound);
}

TEST(Engine, RemovesOrphansAndStaleTempFilesAtStartup) {
  TempDir dir;
  { OpenEngine(dir.path())->LoadDatabase("db", {}).value(); }
  std::filesystem::create_directories(JoinPath(dir.path(), "dbs/999/5/wal"));
  std::ofstream(JoinPath(dir.path(), "meta/catalog.tmp")) << "half-written";
  auto engine = OpenEngine(dir.path());
  ASSERT_NE(engine, nullptr);
  EXPECT_FALSE(std::filesystem::exists(JoinPath(dir.path(), "dbs/999")));
  EXPECT_FALSE(std::filesystem::exists(JoinPath(dir.path(), "meta/catalog.tmp")));
  EXPECT_TRUE(engine->ListTables("db").ok());
}

TEST(Engine, SecondProcessCannotOpenTheSameDataDirectory) {
  TempDir dir;
  auto first = OpenEngine(dir.path());
  auto second = Engine::Open(NewPosixFileSystem(), {dir.path(), {}});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("locked"), std::string::npos);
}

TEST(Engine, RefusesToStartOnACorruptCatalog) {
  TempDir dir;
  { OpenEngine(dir.path())->LoadDatabase("db", {}).value(); }
  const std::string path = JoinPath(dir.path(), "meta/catalog");
  std::string data = NewPosixFileSystem()->ReadFile(path).value();
  data[data.size() - 3] ^= 1;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  auto engine = Engine::Open(NewPosixFileSystem(), {dir.path(), {}});
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), StatusCode::kCorruption);
}

TEST(Catalog, EncodingRoundTrips) {
  CatalogState state;
  state.next_id = 77;
  DatabaseEntry db{5, "db", "/p", 150000, false, true, {}};
  db.tables.push_back({6, Schema("t")});
  state.databases.push_back(db);
  auto decoded = DecodeCatalog(EncodeCatalog(state));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, state);
  std::string truncated = EncodeCatalog(state);
  truncated.pop_back();
  EXPECT_FALSE(DecodeCatalog(truncated).ok());
}

TEST(Names, FollowTheNameRule) {
  EXPECT_TRUE(ValidateName("table", "My_Table1").ok());
  EXPECT_TRUE(ValidateName("table", "_x").ok());
  EXPECT_TRUE(ValidateName("table", std::string(255, 'a')).ok());
  for (const std::string& bad : std::vector<std::string>{"", "../x", "a/b", "1abc", "a b", "a.b",
                                                         "é", std::string(256, 'a')}) {
    EXPECT_EQ(ValidateName("table", bad).code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ByteCoding, VarintsAndStringsRoundTripAndShortInputIsCorruption) {
  std::string buf;
  ByteWriter w(&buf);
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, ~0ull}) w.Varint(v);
  w.String("hello");
  ByteReader r(buf);
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, ~0ull}) {
    uint64_t got;
    ASSERT_TRUE(r.Varint(&got).ok());
    EXPECT_EQ(got, v);
  }
  std::string s;
  ASSERT_TRUE(r.String(&s).ok());
  EXPECT_EQ(s, "hello");
  uint32_t x;
  EXPECT_EQ(r.U32(&x).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace quiver

namespace quiver {
namespace {

TEST(EngineLimits, TablesPerDatabaseAreBoundedAndARefusalChangesNothing) {
  testing::TempDir dir(/*in_memory=*/true);
  EngineOptions options{dir.path(), {}, std::chrono::milliseconds(0)};
  options.index_threads = 0;
  auto engine = Engine::Open(NewPosixFileSystem(), options);
  ASSERT_TRUE(engine.ok());
  ASSERT_TRUE((*engine)->LoadDatabase("db", {}).ok());
  auto schema = [](size_t i) {
    return TableSchema{"t" + std::to_string(i), {{"id", DataType::kBigInt, true}}};
  };
  for (size_t i = 0; i < kMaxTablesPerDatabase; ++i)
    ASSERT_TRUE((*engine)->CreateTable("db", schema(i)).ok()) << i;
  Status refused = (*engine)->CreateTable("db", schema(kMaxTablesPerDatabase));
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("the most allowed"), std::string::npos) << refused.ToString();
  EXPECT_EQ((*engine)->ListTables("db")->size(), kMaxTablesPerDatabase);
  ASSERT_TRUE((*engine)->DropTable("db", "t0").ok());
  EXPECT_TRUE((*engine)->CreateTable("db", schema(kMaxTablesPerDatabase)).ok());

  TableSchema wide{"wide", {{"id", DataType::kBigInt, true}}};
  for (size_t i = 0; i < kMaxFields; ++i) wide.fields.push_back({"f" + std::to_string(i)});
  EXPECT_EQ((*engine)->CreateTable("db", wide).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quiver

namespace quiver {
namespace {

// Renames fail (so seals do) with a chosen message while `failure` is set.
class RenameFailingFileSystem final : public testing::ForwardingFileSystem {
 public:
  RenameFailingFileSystem() : ForwardingFileSystem(Posix()) {}
  std::string failure;  // set between calls, from the test's thread
  Status Rename(const std::string& from, const std::string& to) override {
    if (!failure.empty()) return Status::IOError(failure);
    return ForwardingFileSystem::Rename(from, to);
  }

 private:
  static FileSystem* Posix() {
    static const std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
    return posix.get();
  }
};

TEST(Engine, LastingMaintenanceFailureIsLoggedOnceThenOnChange) {
  TempDir dir;
  auto fs = std::make_unique<RenameFailingFileSystem>();
  RenameFailingFileSystem* failing = fs.get();
  EngineOptions options{dir.path(), {}, std::chrono::milliseconds(0)};  // rounds run by hand
  options.index_threads = 0;
  options.table.seal_rows = 1;
  auto engine = std::move(Engine::Open(std::move(fs), options).value());
  ASSERT_TRUE(engine->LoadDatabase("db", {}).ok());
  ASSERT_TRUE(engine->CreateTable("db", Schema("t")).ok());
  RecordBatch batch = RecordBatch::ForSchema(Schema("t"));
  batch.columns[0].AppendString("a");
  batch.columns[1].AppendNull();
  const float v[3] = {1, 0, 0};
  batch.columns[2].AppendVector(v);
  ASSERT_TRUE((*engine->FindTable("db", "t"))->Insert(batch, false).ok());

  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  spdlog::logger& logger = log::Get("engine");
  const auto level = logger.level();
  logger.sinks().push_back(sink);
  logger.set_level(spdlog::level::info);
  auto count = [&](const std::string& what) {
    const std::string text = captured.str();
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  failing->failure = "injected: disk on fire";
  for (int i = 0; i < 5; ++i) engine->MaintainOnce();
  EXPECT_EQ(count("sealing table t failed"), 1u) << captured.str();
  failing->failure = "injected: disk still on fire";
  for (int i = 0; i < 3; ++i) engine->MaintainOnce();
  EXPECT_EQ(count("sealing table t failed"), 2u) << "a changed error is logged again";
  EXPECT_EQ(count("disk still on fire"), 1u);
  failing->failure.clear();
  for (int i = 0; i < 3; ++i) engine->MaintainOnce();
  EXPECT_EQ(count("sealing table t works again"), 1u) << captured.str();
  EXPECT_EQ((*engine->FindTable("db", "t"))->Stats()->growing_rows, 0u) << "the seal went through";
  logger.sinks().pop_back();
  logger.set_level(level);
}

}  // namespace
}  // namespace quiver

namespace quiver {
namespace {

// Blocks the first Lock() after Arm() until Release(): a load that replays
// a big log, made to last as long as the test wants.
class BlockingLockFileSystem final : public testing::ForwardingFileSystem {
 public:
  BlockingLockFileSystem() : ForwardingFileSystem(Posix()) {}
  void Arm() { armed_ = true; }
  void WaitUntilBlocked() { blocked_.get_future().wait(); }
  void Release() { release_.set_value(); }
  Result<std::unique_ptr<FileLock>> Lock(const std::string& path) override {
    if (armed_.exchange(false)) {
      blocked_.set_value();
      release_future_.wait();
    }
    return ForwardingFileSystem::Lock(path);
  }

 private:
  static FileSystem* Posix() {
    static const std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
    return posix.get();
  }
  std::atomic<bool> armed_{false};
  std::promise<void> blocked_, release_;
  std::shared_future<void> release_future_ = release_.get_future().share();
};

TEST(Engine, LoadingADatabaseDoesNotStallRequestsToOthers) {
  TempDir dir;
  auto owned = std::make_unique<BlockingLockFileSystem>();
  BlockingLockFileSystem* fs = owned.get();
  EngineOptions options{dir.path(), {}, std::chrono::milliseconds(0)};
  options.index_threads = 0;
  auto engine = std::move(Engine::Open(std::move(owned), options).value());
  ASSERT_TRUE(engine->LoadDatabase("slow", {}).ok());
  ASSERT_TRUE(engine->CreateTable("slow", Schema("t")).ok());
  ASSERT_TRUE(engine->UnloadDatabase("slow").ok());
  ASSERT_TRUE(engine->LoadDatabase("other", {}).ok());
  ASSERT_TRUE(engine->CreateTable("other", Schema("t")).ok());

  fs->Arm();
  std::thread loader([&] { EXPECT_TRUE(engine->LoadDatabase("slow", {}).ok()); });
  fs->WaitUntilBlocked();  // the load is inside its I/O now
  auto other = std::async(std::launch::async, [&] {
    auto table = engine->FindTable("other", "t");
    RecordBatch batch = RecordBatch::ForSchema(Schema("t"));
    batch.columns[0].AppendString("k");
    batch.columns[1].AppendNull();
    const float v[3] = {1, 0, 0};
    batch.columns[2].AppendVector(v);
    return table.ok() && (*table)->Insert(batch, false).ok() && engine->ListTables("other").ok() &&
           engine->Statistics("other").ok();
  });
  // Bounded so that the old behaviour (every request waits for the load)
  // fails instead of hanging.
  ASSERT_EQ(other.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "a request to another database waited for the load";
  EXPECT_TRUE(other.get());
  fs->Release();
  loader.join();
  EXPECT_TRUE(engine->FindTable("slow", "t").ok());
}

}  // namespace
}  // namespace quiver
