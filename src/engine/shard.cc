// Shard: opening and recovery, and the write path.

#include "engine/shard.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>

#include "common/log.h"
#include "engine/log_payload.h"
#include "expr/filter.h"
#include "segment/manifest.h"

namespace quiver {

Shard::Shard(FileSystem* fs, std::string dir, TableSchema schema, TableOptions options)
    : fs_(fs),
      dir_(std::move(dir)),
      options_(std::move(options)),
      schema_(std::move(schema)),
      pk_index_(*schema_.PrimaryKeyIndex()),
      files_(options_.object_store == nullptr
                 ? SegmentStore::Local(fs, dir_)
                 : SegmentStore::Remote(fs, dir_, options_.object_store, options_.object_prefix)),
      epoch_(options_.epoch),
      growing_since_(std::chrono::steady_clock::now()) {}

Result<std::shared_ptr<SealedSegment>> Shard::OpenSegment(uint64_t id, uint64_t epoch) {
  const std::string name = SegmentName(id, epoch);
  QV_ASSIGN_OR_RETURN(auto file, files_->Open(name));
  QV_ASSIGN_OR_RETURN(
      auto segment, SealedSegment::Open(std::move(file), files_->Where(name), schema_, id, epoch));
  return std::shared_ptr<SealedSegment>(std::move(segment));
}

std::string Shard::SegmentName(uint64_t id, uint64_t epoch) {
  char name[64];
  if (epoch == 0) {
    std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(id));
  } else {
    std::snprintf(name, sizeof name, "%020llu.e%llu.seg", static_cast<unsigned long long>(id),
                  static_cast<unsigned long long>(epoch));
  }
  return JoinPath("segments", name);
}

Result<std::unique_ptr<Shard>> Shard::Open(FileSystem* fs, const std::string& dir,
                                           TableSchema schema, TableOptions options) {
  if (!schema.PrimaryKeyIndex()) return Status::InvalidArgument("table has no primary key");
  std::unique_ptr<Shard> table(new Shard(fs, dir, std::move(schema), std::move(options)));
  QV_RETURN_IF_ERROR(table->Recover());
  return table;
}

Result<std::unique_ptr<Shard>> Shard::OpenReplica(FileSystem* fs, const std::string& dir,
                                                  TableSchema schema, TableOptions options,
                                                  std::shared_ptr<Log> log) {
  if (!schema.PrimaryKeyIndex()) return Status::InvalidArgument("table has no primary key");
  if (options.manifest_store != nullptr && options.object_store == nullptr) {
    return Status::InvalidArgument(
        "replicas that share a manifest share its files too: an object store is needed");
  }
  std::unique_ptr<Shard> table(new Shard(fs, dir, std::move(schema), std::move(options)));
  table->log_ = std::move(log);
  table->owns_log_ = false;
  QV_RETURN_IF_ERROR(table->Recover());
  return table;
}

Status Shard::CatchUp(std::chrono::milliseconds wait) {
  // The owner applies its own records as it appends them.
  if (owns_log_) return Status::OK();
  MutexLock serial(&catch_up_mu_);
  if (!reader_) {
    Lsn next;
    {
      MutexLock order(&order_mu_);
      next = applied_lsn_ + 1;
    }
    QV_ASSIGN_OR_RETURN(reader_, log_->ReadFrom(next));
  }
  for (bool first = true;; first = false) {
    auto record = reader_->Next(first ? wait : std::chrono::milliseconds(0));
    Status status = record.status();
    if (status.ok() && !*record) return Status::OK();
    if (status.ok()) {
      // This thread is the only applier: the record must be the next one.
      Lsn applied;
      {
        MutexLock order(&order_mu_);
        applied = applied_lsn_;
      }
      if ((*record)->lsn <= applied) continue;  // applied already (an adopted manifest's tail)
      if ((*record)->lsn != applied + 1) {
        status = Status::NotFound("table '" + schema_.name + "': the log holds LSN " +
                                  std::to_string((*record)->lsn) + " but not " +
                                  std::to_string(applied + 1) +
                                  ": trimmed below a checkpoint; adopt its manifest");
      }
    }
    if (status.ok()) status = ApplyInOrder(**record, /*trusted=*/false).status();
    if (!status.ok()) {
      reader_.reset();  // the next call starts again after what was applied
      return status;
    }
  }
}

Status Shard::Recover() {
  // Nothing else runs while a table opens; the locks satisfy the analysis.
  MutexLock maintenance(&maintenance_mu_);
  MutexLock order(&order_mu_);
  MutexLock state(&state_mu_);
  QV_RETURN_IF_ERROR(fs_->CreateDirs(JoinPath(dir_, "segments")));
  const bool shared = options_.manifest_store != nullptr;
  if (shared) {
    meta_ = options_.manifest_store;
    manifest_key_ = options_.manifest_key;
  } else {
    own_meta_ = NewLocalMetaStore(fs_, dir_);
    meta_ = own_meta_.get();
    manifest_key_ = kManifestKey;
  }
  const std::string manifest_path =
      shared ? "manifest " + manifest_key_ : JoinPath(dir_, kManifestKey);
  QV_ASSIGN_OR_RETURN(auto stored, meta_->Get(manifest_key_));
  Manifest manifest;
  if (stored) {
    auto decoded = DecodeManifest(stored->value);
    if (!decoded.ok()) return decoded.status().WithContext(manifest_path);
    manifest = std::move(decoded).value();
    manifest_revision_ = stored->mod_revision;
  }
  std::set<std::string> referenced;
  for (const ManifestSegment& entry : manifest.segments) {
    const std::string name = SegmentName(entry.id, entry.epoch);
    auto opened = OpenSegment(entry.id, entry.epoch);
    if (!opened.ok() && files_->remote()) {
      // A damaged cache copy: fetched again once from the store.
      log::Get("engine").warn("table {}: {}; downloading it again", schema_.name,
                              opened.status().ToString());
      QV_RETURN_IF_ERROR(files_->Evict(name));
      opened = OpenSegment(entry.id, entry.epoch);
    }
    QV_ASSIGN_OR_RETURN(auto segment, std::move(opened));
    if (segment->num_rows() != entry.rows) {
      return Status::Corruption(manifest_path + ": segment " + std::to_string(entry.id) + " has " +
                                std::to_string(segment->num_rows()) + " rows, the manifest says " +
                                std::to_string(entry.rows));
    }
    Roaring deleted;
    if (!entry.deleted.empty()) {
      try {
        deleted = Roaring::readSafe(entry.deleted.data(), entry.deleted.size());
      } catch (const std::exception& e) {
        return Status::Corruption(manifest_path + ": delete bitmap of segment " +
                                  std::to_string(entry.id) + " does not decode");
      }
    }
    segment->LoadDeleted(deleted, manifest.checkpoint_lsn);
    clock_.Observe(segment->max_stamp());
    referenced.insert(name);
    sealed_.push_back(std::move(segment));
  }
  // Files no manifest names were left by a seal or compaction that crashed
  // before its manifest (or after it, before removing what it replaced).
  // Shared files are the leader's to remove (they may be its newest): a
  // replica of a shared manifest only drops its cache copies.
  QV_ASSIGN_OR_RETURN(auto names, files_->List("segments"));
  for (const auto& file : names) {
    const std::string name = JoinPath("segments", file);
    if (referenced.contains(name)) continue;
    if (shared) {
      QV_RETURN_IF_ERROR(files_->Evict(name));
      continue;
    }
    log::Get("engine").info("table {}: removing unreferenced segment file {}", schema_.name,
                            files_->Where(name));
    QV_RETURN_IF_ERROR(files_->Remove(name));
  }
  QV_RETURN_IF_ERROR(LoadIndexes(manifest));
  checkpoint_lsn_ = manifest.checkpoint_lsn;
  next_segment_id_ = manifest.next_segment_id;
  if (!owns_log_) {
    // A replica catches up from its checkpoint through CatchUp.
    applied_lsn_ = state_lsn_ = checkpoint_lsn_;
    Publish();
    return Status::OK();
  }
  QV_ASSIGN_OR_RETURN(auto local, LocalLog::Open(fs_, JoinPath(dir_, "wal"), options_.log,
                                                 checkpoint_lsn_, [this](const LogRecord& r) {
                                                   state_mu_.AssertHeld();  // Recover holds it
                                                   return Apply(r, /*trusted=*/false).status();
                                                 }));
  log_ = std::move(local);
  applied_lsn_ = state_lsn_ = log_->LastLsn();
  Publish();
  return Status::OK();
}

Result<Shard::Applied> Shard::Apply(const LogRecord& record, bool trusted) {
  Applied applied;
  switch (record.type) {
    case RecordType::kInsert: {
      QV_ASSIGN_OR_RETURN(InsertPayload insert, DecodeInsert(record.payload, schema_));
      if (!trusted) QV_RETURN_IF_ERROR(ValidateBatch(schema_, insert.batch));
      const InsertCounts counts = ApplyInsert(insert, record.lsn);
      applied.inserted = counts.inserted;
      applied.skipped = counts.skipped;
      return applied;
    }
    case RecordType::kDelete: {
      QV_ASSIGN_OR_RETURN(auto keys, DecodeDelete(record.payload));
      applied.deleted = ApplyDelete(keys, record.lsn).deleted;
      return applied;
    }
  }
  return Status::Corruption("unknown log record type " +
                            std::to_string(static_cast<int>(record.type)));
}

Shard::Location Shard::FindLatest(const PrimaryKey& key) const {
  // Newest first: a key is live in at most one segment.
  if (auto it = growing_keys_.find(key); it != growing_keys_.end()) return it->second;
  if (auto it = frozen_keys_.find(key); it != frozen_keys_.end()) return it->second;
  for (auto it = sealed_.rbegin(); it != sealed_.rend(); ++it) {
    const size_t rows = (*it)->num_rows();
    if (int64_t row = (*it)->FindKey(key, rows, kLatest); row >= 0) return {it->get(), size_t(row)};
  }
  return {};
}

void Shard::DeleteLatest(const PrimaryKey& key, const Location& at, Lsn lsn) {
  const_cast<Segment*>(at.segment)->MarkDeleted(at.row, lsn);
  if (growing_keys_.erase(key) == 0) frozen_keys_.erase(key);
}

Shard::Location Shard::FindIn(const ShardVersion& version, const PrimaryKey& key) {
  for (auto it = version.segments.rbegin(); it != version.segments.rend(); ++it) {
    const int64_t row = it->segment->FindKey(key, it->rows, version.lsn);
    if (row >= 0) return {it->segment.get(), size_t(row)};
  }
  return {};
}

void Shard::Publish() {
  auto version = std::make_shared<ShardVersion>();
  version->lsn = state_lsn_;
  version->segments.reserve(sealed_.size() + frozen_.size() + growing_.size());
  for (const auto& s : sealed_) {
    SegmentView& view = version->segments.emplace_back();
    view.segment = s;
    view.rows = s->num_rows();
    if (auto built = indexes_.find(s->id()); built != indexes_.end()) view.indexes = built->second;
  }
  for (const auto* list : {&frozen_, &growing_}) {
    for (const auto& s : *list) {
      if (s->num_rows() == 0) continue;
      version->segments.push_back({s, s->num_rows(), {}});
    }
  }
  versions_.Install(std::move(version));
}

GrowingSegment& Shard::GrowingFor(const RecordBatch& batch, size_t row) {
  if (!growing_.empty() && growing_.back()->HasRoomFor(batch, row)) return *growing_.back();
  // Chunks start small (a small table stays small) and double up to about
  // 8 MiB of row data or 4,096 rows, whichever is less.
  constexpr size_t kMinRows = 256, kMaxRows = 4096, kMaxBytes = 8u << 20;
  const size_t cap = std::clamp<size_t>(kMaxBytes / schema_.RowBytes(), kMinRows, kMaxRows);
  const size_t capacity =
      growing_.empty() ? kMinRows : std::min(cap, 2 * growing_.back()->capacity());
  // Sparse vectors: room for 64 entries a row on average, or twice this
  // row's when it is larger (a chunk that runs out of room closes early).
  size_t sparse_entries = 0;
  for (size_t f = 0; f < schema_.fields.size(); ++f) {
    if (schema_.fields[f].type != DataType::kSparseVectorFloat) continue;
    const size_t here =
        batch.columns[f].IsNull(row) ? 0 : batch.columns[f].GetSparseIndices(row).size();
    sparse_entries = std::max({sparse_entries, capacity * 64, 2 * here});
  }
  growing_.push_back(std::make_shared<GrowingSegment>(schema_, capacity, sparse_entries));
  return *growing_.back();
}

InsertCounts Shard::ApplyInsert(const InsertPayload& insert, Lsn lsn) {
  const RecordBatch& batch = insert.batch;
  const bool upsert = insert.upsert;
  uint64_t newest_stamp = 0;
  InsertCounts counts;
  counts.lsn = lsn;
  const Column& keys = batch.columns[pk_index_];
  for (size_t r = 0; r < batch.num_rows(); ++r) {
    Location existing = FindLatest(KeyAt(keys, r));
    if (existing.segment != nullptr) {
      if (!upsert) {
        ++counts.skipped;
        continue;
      }
      DeleteLatest(KeyAt(keys, r), existing, lsn);
    }
    const bool first = growing_.empty() || (growing_.size() == 1 && growing_[0]->num_rows() == 0);
    if (first) {
      growing_min_lsn_ = lsn;
      growing_since_ = std::chrono::steady_clock::now();
    }
    GrowingSegment& growing = GrowingFor(batch, r);
    const size_t row = growing.num_rows();
    const uint64_t stamp = insert.StampOf(r);
    growing.Append(batch, r, stamp);
    newest_stamp = std::max(newest_stamp, stamp);
    growing_keys_.insert_or_assign(KeyAt(keys, r), Location{&growing, row});
    growing_max_lsn_ = lsn;
    ++counts.inserted;
  }
  clock_.Observe(newest_stamp);
  state_lsn_ = lsn;
  return counts;
}

DeleteCounts Shard::ApplyDelete(std::span<const PrimaryKey> keys, Lsn lsn) {
  DeleteCounts counts{0, lsn};
  for (const PrimaryKey& key : keys) {
    Location existing = FindLatest(key);
    if (existing.segment == nullptr) continue;
    DeleteLatest(key, existing, lsn);
    ++counts.deleted;
  }
  state_lsn_ = lsn;
  return counts;
}

Result<Shard::Applied> Shard::ApplyInOrder(const LogRecord& record, bool trusted) {
  MutexLock order(&order_mu_);
  while (applied_lsn_ + 1 != record.lsn) order_cv_.Wait(&order_mu_);
  Result<Applied> result = Applied{};
  {
    MutexLock state(&state_mu_);
    result = Apply(record, trusted);
    if (result.ok()) {
      Publish();
    } else {
      // The record is in the log but not in the state: writes are refused
      // from now on (a restart replays it, and fails the same way, naming
      // it); reads go on with the state as it is.
      log::Get("engine").error("table {}: applying LSN {} failed: {}", schema_.name, record.lsn,
                               result.status().ToString());
      MutexLock failure(&failure_mu_);
      if (apply_failure_.ok()) {
        apply_failure_ =
            Status::Unavailable("table '" + schema_.name + "' refuses writes: applying LSN " +
                                std::to_string(record.lsn) + " failed (" +
                                result.status().ToString() + "); restart to replay it");
        apply_failed_ = true;
      }
    }
  }
  applied_lsn_ = record.lsn;
  if (result.ok()) result->request_id = std::string(record.request_id);
  outcomes_.emplace_back(record.lsn, result);
  if (outcomes_.size() > kRememberedOutcomes) outcomes_.pop_front();
  order.Unlock();
  order_cv_.SignalAll();
  return result;
}

Status Shard::AwaitLsn(Lsn lsn, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock order(&order_mu_);
  while (applied_lsn_ < lsn) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      return Status::Unavailable("table '" + schema_.name + "' has applied its log up to LSN " +
                                 std::to_string(applied_lsn_) + ", not yet " + std::to_string(lsn) +
                                 " (try again, or ask for less consistency)");
    }
    order_cv_.WaitFor(&order_mu_, left);
  }
  return Status::OK();
}

Result<Shard::Applied> Shard::AwaitApplied(Lsn lsn, std::chrono::milliseconds timeout) const {
  QV_RETURN_IF_ERROR(AwaitLsn(lsn, timeout));
  MutexLock order(&order_mu_);
  auto it = std::lower_bound(outcomes_.begin(), outcomes_.end(), lsn,
                             [](const auto& outcome, Lsn l) { return outcome.first < l; });
  if (it == outcomes_.end() || it->first != lsn) {
    return Status::NotFound("record " + std::to_string(lsn) + " of table '" + schema_.name +
                            "' was applied too long ago to know what it did");
  }
  return it->second;
}

Result<InsertCounts> Shard::Insert(const RecordBatch& batch, bool upsert, uint64_t stamp,
                                   std::span<const uint32_t> offsets) {
  if (!offsets.empty() && offsets.size() != batch.num_rows())
    return Status::Internal("a stamp offset per row, or none");
  QV_RETURN_IF_ERROR(ValidateBatch(schema_, batch));
  if (batch.num_rows() == 0) return InsertCounts{};
  if (!owns_log_)
    return Status::Unavailable(
        "a replica takes no writes: send them to the table that owns the log");
  QV_RETURN_IF_ERROR(Health());
  if (stamp == 0) stamp = clock_.Take(batch.num_rows());
  const std::string payload = EncodeInsert(batch, upsert, stamp, offsets);
  QV_ASSIGN_OR_RETURN(Lsn lsn, log_->Append(RecordType::kInsert, payload));
  QV_ASSIGN_OR_RETURN(Applied applied,
                      ApplyInOrder({lsn, RecordType::kInsert, payload}, /*trusted=*/true));
  return InsertCounts{applied.inserted, applied.skipped, lsn};
}

Status Shard::Health() const {
  if (apply_failed_.load()) {
    MutexLock failure(&failure_mu_);
    return apply_failure_;
  }
  return log_->Health();
}

Status Shard::CheckKeyTypes(std::span<const PrimaryKey> keys) const {
  return quiver::CheckKeyTypes(schema_, keys);
}

Result<DeleteCounts> Shard::Delete(std::span<const PrimaryKey> keys) {
  QV_RETURN_IF_ERROR(CheckKeyTypes(keys));
  if (keys.empty()) return DeleteCounts{};
  if (!owns_log_)
    return Status::Unavailable(
        "a replica takes no writes: send them to the table that owns the log");
  QV_RETURN_IF_ERROR(Health());
  const std::string payload = EncodeDelete(keys);
  QV_ASSIGN_OR_RETURN(Lsn lsn, log_->Append(RecordType::kDelete, payload));
  QV_ASSIGN_OR_RETURN(Applied applied,
                      ApplyInOrder({lsn, RecordType::kDelete, payload}, /*trusted=*/true));
  return DeleteCounts{applied.deleted, lsn};
}

Result<DeleteCounts> Shard::DeleteWhere(std::string_view filter_text) {
  QV_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(filter_text, schema_, FilterScope::kRows));
  std::vector<PrimaryKey> keys;
  const auto version = Pin();
  std::vector<uint8_t> passed;
  for (const SegmentView& view : version->segments) {
    const auto columns = view.segment->columns();
    filter.EvaluateBatch(columns, view.rows, &passed);
    for (size_t row = 0; row < view.rows; ++row) {
      if (passed[row] && view.segment->IsLiveAt(row, version->lsn))
        keys.push_back(KeyAt(columns[pk_index_], row));
    }
  }
  // Rows inserted between the scan and the log append are not deleted: the
  // delete is logged as the keys it matched, so replay needs no filter.
  return Delete(keys);
}

size_t Shard::RowCount() const {
  MutexLock lock(&state_mu_);
  size_t rows = 0;
  for (const auto& s : sealed_) rows += s->live_rows();
  for (const auto* list : {&frozen_, &growing_}) {
    for (const auto& s : *list) rows += s->live_rows();
  }
  return rows;
}

ShardStats Shard::Stats() const {
  ShardStats stats;
  stats.checkpoint_lsn = checkpoint_lsn_.load();

  stats.wal_syncs = log_->syncs();
  stats.wal_bytes = log_->bytes_written();
  MutexLock lock(&state_mu_);
  stats.applied_lsn = state_lsn_;  // applied and published (a read sees it)
  for (const auto& s : sealed_) stats.sealed_rows += s->live_rows();
  stats.sealed_segments = sealed_.size();
  for (const auto* list : {&frozen_, &growing_}) {
    for (const auto& s : *list) stats.growing_rows += s->live_rows();
  }
  stats.live_rows = stats.sealed_rows + stats.growing_rows;
  MutexLock index_lock(&index_mu_);
  stats.index_builds = builds_done_;
  stats.index_build_seconds = build_seconds_;
  for (size_t f : schema_.VectorFieldIndexes()) {
    FieldIndexStats& field = stats.indexes.emplace_back();
    field.field = schema_.fields[f].name;
    field.type = schema_.fields[f].index.type;
    field.total_rows = stats.live_rows;
    if (!WantsIndex(f)) continue;
    for (const auto& s : sealed_) {
      const IndexKey key{s->id(), f};
      auto built = indexes_.find(s->id());
      if (built != indexes_.end() && built->second.size() > f && built->second[f]) {
        field.indexed_rows += s->live_rows();
      } else if (auto failed = failed_.find(key); failed != failed_.end()) {
        field.error = failed->second;
      } else {
        ++field.pending;
        field.building += building_.contains(key) ? 1 : 0;
      }
    }
  }
  return stats;
}

}  // namespace quiver
