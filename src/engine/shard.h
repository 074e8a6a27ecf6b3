#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "catalog/meta_store.h"
#include "common/mutex.h"
#include "engine/collection.h"
#include "engine/log_payload.h"
#include "engine/query.h"
#include "engine/version_set.h"
#include "engine/write_clock.h"
#include "index/vector_index.h"
#include "io/file_system.h"
#include "schema/column.h"
#include "schema/schema.h"
#include "segment/growing_segment.h"
#include "segment/manifest.h"
#include "segment/sealed_segment.h"
#include "segment/segment_store.h"
#include "wal/local_log.h"

namespace quiver {

struct TableOptions {
  LocalLogOptions log;
  // The growing segment is sealed when it reaches any of these.
  size_t seal_rows = 100000;
  size_t seal_bytes = 64u << 20;
  std::chrono::seconds seal_age{600};
  // Compaction merges small segments when a table has more sealed segments
  // than this, and rewrites a segment once this fraction of it is deleted.
  size_t max_segments = 8;
  double max_deleted_fraction = 0.3;
  // Where sealed segment and index files go (segment/segment_store.h): null
  // keeps them in the shard's directory; else they are objects under
  // `object_prefix` (a table adds "/shards/<i>" for each of several shards),
  // cached in the shard's directory.
  ObjectStore* object_store = nullptr;
  std::string object_prefix;
  // The writer's epoch, in the names of the files it writes (a leader's
  // election epoch in a cluster, set by Shard::Lead; 0 standalone).
  uint64_t epoch = 0;
  // Where the manifest lives. Null: in the shard's directory (a local
  // MetaStore), written by this shard alone. Else under `manifest_key` in
  // this store (etcd in a cluster), shared by every replica of the shard
  // like the files under `object_prefix`: one replica leads and writes
  // them, the others follow (Shard::Lead, Shard::Adopt).
  MetaStore* manifest_store = nullptr;
  std::string manifest_key;
};

struct LiveRows;  // shard_maintenance.cc

// One shard of a table (engine/table.h): its log, the source of truth, and the segments
// materialised from it: sealed segments (immutable files, mapped), growing
// segments being sealed ("frozen"), and the growing segments that take new
// rows (fixed-capacity chunks; the last one takes appends).
//
// A write is validated, appended to the log (durable on return), then applied
// in LSN order, so the live state always equals a replay of the log; each
// applied write publishes a new ShardVersion. Reads pin the current version
// and never wait for writes or maintenance (a delete is an LSN on the row, so
// a pinned version keeps its view). Sealing writes the frozen segments as a
// file, records it in the manifest with the checkpoint LSN it covers, and
// trims the log below that. Recovery loads the manifest's segments and
// replays the log above the checkpoint. Reads see every write whose call
// returned. Thread-safe; Seal and Compact may run on a background thread
// while reads and writes continue.
class Shard {
 public:
  // A table that owns its log: a local WAL in `dir`/wal, replayed at open.
  static Result<std::unique_ptr<Shard>> Open(FileSystem* fs, const std::string& dir,
                                             TableSchema schema, TableOptions options);
  // A replica of a table whose log it only reads: it appends nothing, trims
  // nothing, and applies what CatchUp reads (through the same Apply path as
  // the writer), so it builds exactly the writer's state. Its own segments
  // and manifest live in `dir`.
  static Result<std::unique_ptr<Shard>> OpenReplica(FileSystem* fs, const std::string& dir,
                                                    TableSchema schema, TableOptions options,
                                                    std::shared_ptr<Log> log);
  // Applies every record of the log after the last one applied that has
  // reached this replica; when none has, waits up to `wait` for one first.
  // kNotFound when the records it needs next were trimmed from the log
  // (Adopt a manifest whose checkpoint covers them).
  Status CatchUp(std::chrono::milliseconds wait = {}) EXCLUDES(order_mu_, state_mu_);

  // Leader and followers (a replica whose manifest is shared:
  // TableOptions::manifest_store). A follower applies the log and serves
  // reads, but never seals, compacts or builds an index: it adopts what the
  // leader commits. Lead makes this replica the leader: it adopts the latest
  // manifest first (continuing from what the last leader committed), then
  // seals, compacts, builds and trims the log, names its files with the
  // fence's create revision (its epoch), and commits each manifest only
  // while `fence` holds (a deposed leader's commit is refused, and it steps
  // down). StepDown makes it a follower again.
  Status Lead(const Fence& fence) EXCLUDES(maintenance_mu_, catch_up_mu_);
  void StepDown() EXCLUDES(maintenance_mu_);
  // Whether this replica writes segments, indexes and the manifest: a
  // standalone shard or a replica with its own manifest always, a shared
  // one while it leads.
  bool Maintains() const { return options_.manifest_store == nullptr || leading_; }
  bool Leading() const { return leading_; }
  // A follower's sync with the manifest committed at `manifest.mod_revision`
  // (a newer one than it has): downloads the segments and indexes it names
  // that this replica lacks (verifying each), then swaps them in at once,
  // with the log records after the manifest's checkpoint applied again on
  // top (records it had not applied yet and the checkpoint covers are
  // skipped). Reads go on meanwhile, on the old state; on an error nothing
  // changed.
  Status Adopt(const KeyValue& manifest) EXCLUDES(catch_up_mu_, maintenance_mu_);
  // The revision of the manifest this replica last wrote or adopted.
  Revision ManifestRevision() const EXCLUDES(maintenance_mu_);
  // A follower: waits until it has adopted a manifest whose checkpoint is
  // at least `lsn` and that indexes every sealed segment; kUnavailable
  // after `timeout`.
  Status AwaitSynced(Lsn lsn, std::chrono::milliseconds timeout) const;
  // What applying one record did.
  struct Applied {
    uint64_t inserted = 0, skipped = 0, deleted = 0;
    std::string request_id;  // the record's (LogRecord::request_id)
  };
  // What applying record `lsn` did, once it is applied (a replica tells the
  // dispatcher that appended it): waits for it up to `timeout`, then
  // kUnavailable; kNotFound when it was applied too long ago to remember
  // (the last kRememberedOutcomes records are); the apply's error if it failed.
  Result<Applied> AwaitApplied(Lsn lsn, std::chrono::milliseconds timeout) const
      EXCLUDES(order_mu_);
  // Waits until every record up to `lsn` is applied; kUnavailable after `timeout`.
  Status AwaitLsn(Lsn lsn, std::chrono::milliseconds timeout) const EXCLUDES(order_mu_);
  static constexpr size_t kRememberedOutcomes = 4096;
  // The log this table applies from (a replica in the same process reads it).
  std::shared_ptr<Log> log() const { return log_; }

  const TableSchema& schema() const { return schema_; }
  // OK, or which kind of key (integer or string) this table's keys are.
  Status CheckKeyTypes(std::span<const PrimaryKey> keys) const;
  // The newest write stamp this shard has made or applied.
  uint64_t LastStamp() const { return clock_.last(); }

  // `stamp`: the first row's write stamp from the table's clock (row r gets
  // stamp + r, or stamp + offsets[r] when given); 0 takes one from the
  // shard's own clock.
  Result<InsertCounts> Insert(const RecordBatch& batch, bool upsert, uint64_t stamp = 0,
                              std::span<const uint32_t> offsets = {});
  Result<DeleteCounts> Delete(std::span<const PrimaryKey> keys);
  Result<DeleteCounts> DeleteWhere(std::string_view filter);

  // The version reads use now.
  std::shared_ptr<const ShardVersion> Pin() const { return versions_.Current(); }
  Result<ResultSet> Search(const SearchRequest& request) const;
  // Runs each query (exact, filtered), then fuses their rankings; records
  // come by fused score, highest first, ties by primary key.
  Result<ResultSet> HybridSearch(const HybridRequest& request) const;
  Result<ResultSet> Get(const GetRequest& request) const;

  size_t RowCount() const;
  ShardStats Stats() const;
  // OK, or why writes are refused: a poisoned log, or a record the shard
  // could not apply (its state no longer equals its log until a restart
  // replays it).
  Status Health() const EXCLUDES(failure_mu_);

  // Seals the growing segments if they have rows.
  Status Seal();
  // Seals when the growing segments reached a threshold of TableOptions.
  Status MaybeSeal();
  // Merges or rewrites segments as TableOptions says; with `force`, merges
  // every sealed segment into one without deleted rows.
  Status Compact(bool force = false);

  // Index rebuilder work (docs/ARCHITECTURE.md, "Index rebuilder"). Builds
  // one missing index -- a sealed segment's vector field whose index type is
  // not FLAT -- that no other thread has claimed; false when none is
  // waiting. The build reads the mapped segment without locks, writes the
  // index file, then registers it in the manifest; reads and writes go on
  // meanwhile. A failed build is reported and not retried until a restart.
  // `stop` (when set) cancels a running build (Unavailable, not recorded).
  Result<bool> BuildNextIndex(const std::atomic<bool>* stop = nullptr);
  // Builds every missing index in the calling thread.
  Status BuildAllIndexes();
  // Indexes missing (waiting or being built) that have not failed.
  size_t PendingIndexes() const;

 private:
  struct Location {
    const Segment* segment = nullptr;
    size_t row = 0;
  };

  Shard(FileSystem* fs, std::string dir, TableSchema schema, TableOptions options);
  Status Recover();
  // The one way a record changes the state, for the writer, recovery and
  // replicas alike. `trusted`: the writer encoded it from a checked batch.
  Result<Applied> Apply(const LogRecord& record, bool trusted) REQUIRES(state_mu_);
  InsertCounts ApplyInsert(const InsertPayload& insert, Lsn lsn) REQUIRES(state_mu_);
  DeleteCounts ApplyDelete(std::span<const PrimaryKey> keys, Lsn lsn) REQUIRES(state_mu_);
  // Waits until every record before `lsn` is applied, applies it under
  // state_mu_, publishes the new version and marks `lsn` applied.
  Result<Applied> ApplyInOrder(const LogRecord& record, bool trusted)
      EXCLUDES(order_mu_, state_mu_);
  // The live row with this key in the latest state (the writer's view).
  Location FindLatest(const PrimaryKey& key) const REQUIRES(state_mu_);
  // Deletes that row at `lsn` (and forgets it in the writer's key index).
  void DeleteLatest(const PrimaryKey& key, const Location& at, Lsn lsn) REQUIRES(state_mu_);
  // The row with this key live in `version`.
  static Location FindIn(const ShardVersion& version, const PrimaryKey& key);
  // Makes the current state the version reads pin.
  void Publish() REQUIRES(state_mu_);
  // The growing segment that takes row `row` of `batch` (a new one when the
  // last is full).
  GrowingSegment& GrowingFor(const RecordBatch& batch, size_t row) REQUIRES(state_mu_);
  Result<ResultSet> SearchIn(const ShardVersion& version, const SearchRequest& request) const;

  // Maintenance helpers.
  Status SealFrozen() REQUIRES(maintenance_mu_) EXCLUDES(state_mu_);
  Status WriteManifest(Lsn checkpoint) REQUIRES(maintenance_mu_) EXCLUDES(state_mu_);
  // Writes the live rows of `views` as segment `id`, streaming the columns,
  // and opens it.
  Result<std::shared_ptr<SealedSegment>> WriteSegment(uint64_t id,
                                                      const std::vector<SegmentView>& views,
                                                      const LiveRows& live, Lsn min_lsn,
                                                      Lsn max_lsn);
  // Removes the log files the checkpoint covers.
  Status TrimLog(Lsn checkpoint) REQUIRES(maintenance_mu_);
  // Maps and verifies the sealed segment `name`.
  Result<std::shared_ptr<SealedSegment>> OpenSegment(uint64_t id, uint64_t epoch);
  // Names in the SegmentStore.
  static std::string SegmentName(uint64_t id, uint64_t epoch);

  // A new leader's removal of the shared files that no manifest names and
  // earlier epochs wrote.
  void CollectGarbage(const Manifest& manifest) REQUIRES(maintenance_mu_) EXCLUDES(state_mu_);
  // The epoch in a segment or index file's name (0: none); nullopt for
  // other names.
  static std::optional<uint64_t> EpochOfFile(std::string_view file);
  // Adopt; with `skip_damaged_indexes` (a new leader, which builds them
  // again), an index that does not open is left out instead of failing.
  Status AdoptManifest(const KeyValue& manifest, bool skip_damaged_indexes)
      EXCLUDES(catch_up_mu_, maintenance_mu_);

  // Index helpers.
  using IndexKey = std::pair<uint64_t, size_t>;  // segment id, field
  bool WantsIndex(size_t field) const;
  index::VectorSet VectorSetOf(const Segment& segment, size_t field) const;
  static std::string IndexName(uint64_t segment, size_t field, uint64_t epoch);
  Result<std::shared_ptr<const index::VectorIndex>> OpenIndex(const SealedSegment& segment,
                                                              size_t field, uint64_t epoch) const;
  // Opens the indexes the manifest registers; damaged ones are quarantined
  // (and so rebuilt); files it does not register are removed.
  Status LoadIndexes(const Manifest& manifest) REQUIRES(state_mu_);
  Status BuildIndex(const std::shared_ptr<SealedSegment>& segment, size_t field,
                    const std::atomic<bool>* stop);

  FileSystem* const fs_;
  const std::string dir_;
  const TableOptions options_;
  const TableSchema schema_;
  const size_t pk_index_;
  const std::unique_ptr<SegmentStore> files_;  // sealed segment and index files
  std::shared_ptr<Log> log_;
  bool owns_log_ = true;  // false for a replica: it never trims the log
  WriteClock clock_;      // stamps of writes made without one; observes applied ones
  Mutex catch_up_mu_ ACQUIRED_BEFORE(maintenance_mu_);  // one CatchUp at a time
  // Where CatchUp reads: kept between calls (a stream's reader is a consumer
  // on the server), started again after an error.
  std::unique_ptr<LogReader> reader_ GUARDED_BY(catch_up_mu_);

  // Lock order: maintenance_mu_, order_mu_, state_mu_, index_mu_, then the
  // version set's own (each may be taken alone; a thread holding one takes
  // only those after it). The engine's mu_ comes before all of them; the
  // log's own lock and the segment store's after. Readers take only the
  // version set's, for a pointer copy.
  Mutex maintenance_mu_ ACQUIRED_BEFORE(order_mu_);  // one seal, compaction or index commit
  std::atomic<Lsn> checkpoint_lsn_{0};               // written under maintenance_mu_, read anywhere
  uint64_t next_segment_id_ GUARDED_BY(maintenance_mu_) = 1;
  // The manifest goes through the MetaStore port, as a compare-and-swap on
  // the revision this table last wrote (fenced while it leads).
  std::unique_ptr<MetaStore> own_meta_;  // standalone: the shard's directory
  MetaStore* meta_ = nullptr;            // own_meta_ or TableOptions::manifest_store
  std::string manifest_key_;
  std::atomic<Revision> manifest_revision_{0};  // written under maintenance_mu_
  std::atomic<bool> leading_{false};
  std::optional<Fence> fence_ GUARDED_BY(maintenance_mu_);
  std::atomic<uint64_t> epoch_;  // in the names of the files this replica writes

  mutable Mutex order_mu_ ACQUIRED_BEFORE(state_mu_);
  mutable CondVar order_cv_;  // with order_mu_: applied_lsn_ moved
  Lsn applied_lsn_ GUARDED_BY(order_mu_) = 0;
  // What the last records applied did, oldest first (AwaitApplied).
  std::deque<std::pair<Lsn, Result<Applied>>> outcomes_ GUARDED_BY(order_mu_);
  // The first record that did not apply: writes, seals and compactions are
  // refused from then on (a checkpoint past it would trim it from the log
  // before a restart could replay it).
  std::atomic<bool> apply_failed_{false};
  mutable Mutex failure_mu_;
  Status apply_failure_ GUARDED_BY(failure_mu_);

  // The writer's state: held while a record is applied or segments are
  // swapped (short), never by readers.
  mutable Mutex state_mu_ ACQUIRED_BEFORE(index_mu_);
  Lsn state_lsn_ GUARDED_BY(state_mu_) = 0;  // the last record applied to the state
  std::vector<std::shared_ptr<SealedSegment>> sealed_ GUARDED_BY(state_mu_);
  std::vector<std::shared_ptr<GrowingSegment>> frozen_ GUARDED_BY(state_mu_);   // being sealed
  std::vector<std::shared_ptr<GrowingSegment>> growing_ GUARDED_BY(state_mu_);  // last takes rows
  // The frozen segments' LSNs: written when they freeze, read by the seal that writes them.
  Lsn frozen_min_lsn_ GUARDED_BY(maintenance_mu_) = 0;
  Lsn frozen_max_lsn_ GUARDED_BY(maintenance_mu_) = 0;
  // Every record up to here is in sealed or frozen segments.
  Lsn frozen_checkpoint_ GUARDED_BY(maintenance_mu_) = 0;
  Lsn growing_min_lsn_ GUARDED_BY(state_mu_) = 0;
  Lsn growing_max_lsn_ GUARDED_BY(state_mu_) = 0;
  std::chrono::steady_clock::time_point growing_since_ GUARDED_BY(state_mu_);
  // The writer's index of the live keys of the growing and the frozen
  // segments (one lookup instead of one per chunk; readers use the chunks'
  // own maps).
  std::unordered_map<PrimaryKey, Location> growing_keys_ GUARDED_BY(state_mu_);
  std::unordered_map<PrimaryKey, Location> frozen_keys_ GUARDED_BY(state_mu_);
  // Built indexes by segment id, one slot per field (null: none).
  std::map<uint64_t, std::vector<std::shared_ptr<const index::VectorIndex>>> indexes_
      GUARDED_BY(state_mu_);
  // The epoch each built index was written in (part of its file's name).
  std::map<IndexKey, uint64_t> index_epochs_ GUARDED_BY(state_mu_);

  mutable Mutex index_mu_;  // the rebuilder's bookkeeping
  std::set<IndexKey> building_ GUARDED_BY(index_mu_);
  std::map<IndexKey, std::string> failed_ GUARDED_BY(index_mu_);
  uint64_t builds_done_ GUARDED_BY(index_mu_) = 0;
  double build_seconds_ GUARDED_BY(index_mu_) = 0;

  VersionSet versions_;  // what reads pin
};

}  // namespace quiver
