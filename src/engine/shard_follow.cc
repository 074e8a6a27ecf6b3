// Shard: leading and following a shared manifest (a replica in a cluster).

#include <spdlog/spdlog.h>

#include <charconv>
#include <thread>
#include <tuple>

#include "common/log.h"
#include "engine/shard.h"
#include "segment/manifest.h"

namespace quiver {

namespace {

// How long Adopt waits for the log to hand back records it held once.
constexpr auto kTailWait = std::chrono::seconds(5);

}  // namespace

Status Shard::Lead(const Fence& fence) {
  if (options_.manifest_store == nullptr) {
    return Status::InvalidArgument("table '" + schema_.name +
                                   "' keeps its own manifest: it has no leader to elect");
  }
  // Continue from what the last leader committed.
  // An index that does not open is built again by this leader.
  QV_ASSIGN_OR_RETURN(auto stored, meta_->Get(manifest_key_));
  Manifest manifest;
  if (stored) {
    QV_RETURN_IF_ERROR(AdoptManifest(*stored, /*skip_damaged_indexes=*/true));
    QV_ASSIGN_OR_RETURN(manifest, DecodeManifest(stored->value));
  }
  MutexLock maintenance(&maintenance_mu_);
  if ((stored ? stored->mod_revision : 0) != manifest_revision_) {
    return Status::Conflict("table '" + schema_.name + "': the manifest changed while adopting it");
  }
  {
    MutexLock index(&index_mu_);
    failed_.clear();  // another leader's failures, or this one's before it followed
  }
  epoch_ = static_cast<uint64_t>(fence.create_revision);
  CollectGarbage(manifest);  // before any build of its own can start
  fence_ = fence;
  leading_ = true;
  log::Get("engine").info("table {}: leading with epoch {} from manifest revision {}", schema_.name,
                          fence.create_revision, manifest_revision_.load());
  return Status::OK();
}

void Shard::CollectGarbage(const Manifest& manifest) {
  // Files of this shard that the manifest does not name and that an
  // earlier epoch wrote: a deposed leader's uploads whose commit was
  // refused, builds and compactions that lost a race with a step-down.
  // This leader's own epoch has written nothing yet. Kept: what the
  // manifest names (an index this replica could not open too), what this
  // replica holds (its own segments from an earlier leadership, not
  // committed yet), and names that carry no epoch (temporary files).
  std::set<std::string> named;
  for (const ManifestSegment& entry : manifest.segments) {
    named.insert(SegmentName(entry.id, entry.epoch));
    for (size_t k = 0; k < entry.indexed_fields.size(); ++k) {
      const uint64_t epoch = k < entry.index_epochs.size() ? entry.index_epochs[k] : 0;
      named.insert(IndexName(entry.id, entry.indexed_fields[k], epoch));
    }
  }
  {
    MutexLock state(&state_mu_);
    for (const auto& s : sealed_) named.insert(SegmentName(s->id(), s->epoch()));
    for (const auto& [key, epoch] : index_epochs_)
      named.insert(IndexName(key.first, key.second, epoch));
  }
  const uint64_t mine = epoch_;
  for (const char* folder : {"segments", "indexes"}) {
    auto names = files_->List(folder);
    if (!names.ok()) {
      log::Get("engine").warn("table {}: listing {}: {}", schema_.name, folder,
                              names.status().ToString());
      return;
    }
    for (const std::string& file : *names) {
      const std::string name = JoinPath(folder, file);
      const std::optional<uint64_t> epoch = EpochOfFile(file);
      if (named.contains(name) || !epoch || *epoch >= mine) continue;
      log::Get("engine").info(
          "table {}: removing {}, written by an earlier leader, never committed", schema_.name,
          files_->Where(name));
      Status removed = files_->Remove(name);
      if (!removed.ok()) log::Get("engine").warn("table {}: {}", schema_.name, removed.ToString());
    }
  }
}

std::optional<uint64_t> Shard::EpochOfFile(std::string_view file) {
  // <id>[.e<epoch>].seg, <segment>.<field>[.e<epoch>].qvi (no epoch: 0);
  // anything else (a temporary file) is no one's to remove here.
  const bool segment = file.ends_with(".seg"), index = file.ends_with(".qvi");
  if (!segment && !index) return std::nullopt;
  const std::string_view stem = file.substr(0, file.size() - 4);
  const size_t mark = stem.rfind(".e");
  if (mark == std::string_view::npos) return uint64_t{0};
  uint64_t epoch = 0;
  const std::string_view digits = stem.substr(mark + 2);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), epoch);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return epoch;
}

void Shard::StepDown() {
  MutexLock maintenance(&maintenance_mu_);
  if (leading_) log::Get("engine").info("table {}: stepping down", schema_.name);
  leading_ = false;
  fence_.reset();
}

Revision Shard::ManifestRevision() const {
  return manifest_revision_;
}

Status Shard::AwaitSynced(Lsn lsn, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (checkpoint_lsn_ < lsn || PendingIndexes() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable(
          "table '" + schema_.name + "': this replica has the leader's segments up to LSN " +
          std::to_string(checkpoint_lsn_.load()) + " with " + std::to_string(PendingIndexes()) +
          " indexes missing, not yet everything up to " + std::to_string(lsn) +
          " indexed (is a leader elected?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::OK();
}

Status Shard::Adopt(const KeyValue& stored) {
  // A follower adopts all of it or nothing (an index that does not open
  // now is tried again with the next call).
  return AdoptManifest(stored, /*skip_damaged_indexes=*/false);
}

Status Shard::AdoptManifest(const KeyValue& stored, bool skip_damaged_indexes) {
  auto decoded = DecodeManifest(stored.value);
  if (!decoded.ok()) return decoded.status().WithContext("manifest " + manifest_key_);
  const Manifest manifest = std::move(decoded).value();
  const Lsn checkpoint = manifest.checkpoint_lsn;
  MutexLock serial(&catch_up_mu_);  // no record is applied meanwhile
  MutexLock maintenance(&maintenance_mu_);
  // A leader wrote it (its own commits come back through the watch too).
  if (fence_ || stored.mod_revision <= manifest_revision_) return Status::OK();

  // What this replica holds already is kept (mapped once, shared with the
  // versions readers pinned); what it lacks is downloaded and verified.
  using HeldIndex = std::tuple<uint64_t, size_t, uint64_t>;  // segment, field, epoch
  std::map<std::pair<uint64_t, uint64_t>, std::shared_ptr<SealedSegment>> held;
  std::map<HeldIndex, std::shared_ptr<const index::VectorIndex>> held_indexes;
  {
    MutexLock state(&state_mu_);
    for (const auto& s : sealed_) held[{s->id(), s->epoch()}] = s;
    for (const auto& [id, slots] : indexes_) {
      for (size_t f = 0; f < slots.size(); ++f) {
        auto epoch = index_epochs_.find({id, f});
        if (slots[f] && epoch != index_epochs_.end())
          held_indexes[{id, f, epoch->second}] = slots[f];
      }
    }
  }
  // Only new indexes (a build's commit): they are swapped in alone.
  bool same_segments = checkpoint == checkpoint_lsn_ && manifest.segments.size() == held.size();
  for (const ManifestSegment& entry : manifest.segments)
    same_segments = same_segments && held.contains({entry.id, entry.epoch});
  std::vector<std::shared_ptr<SealedSegment>> segments;
  std::map<uint64_t, std::vector<std::shared_ptr<const index::VectorIndex>>> indexes;
  std::map<IndexKey, uint64_t> index_epochs;
  std::set<std::string> named;   // the files the manifest names
  std::vector<Roaring> bitmaps;  // of held segments: deletes up to the checkpoint
  for (const ManifestSegment& entry : manifest.segments) {
    const std::string name = SegmentName(entry.id, entry.epoch);
    named.insert(name);
    Roaring deleted;
    if (!entry.deleted.empty()) {
      try {
        deleted = Roaring::readSafe(entry.deleted.data(), entry.deleted.size());
      } catch (const std::exception&) {
        return Status::Corruption("manifest " + manifest_key_ + ": the delete bitmap of segment " +
                                  std::to_string(entry.id) + " does not decode");
      }
    }
    std::shared_ptr<SealedSegment> segment;
    if (auto it = held.find({entry.id, entry.epoch}); it != held.end()) {
      // Its deletes are this replica's own up to its applied LSN; those up
      // to the checkpoint that it has not applied yet are marked at the swap.
      segment = it->second;
      bitmaps.push_back(std::move(deleted));
    } else {
      auto opened = OpenSegment(entry.id, entry.epoch);
      if (!opened.ok()) {
        // A damaged cache copy is fetched again once.
        QV_RETURN_IF_ERROR(files_->Evict(name));
        opened = OpenSegment(entry.id, entry.epoch);
      }
      if (!opened.ok()) return opened.status().WithContext("adopting manifest " + manifest_key_);
      segment = std::move(opened).value();
      if (segment->num_rows() != entry.rows) {
        return Status::Corruption(files_->Where(name) + " has " +
                                  std::to_string(segment->num_rows()) + " rows, manifest " +
                                  manifest_key_ + " says " + std::to_string(entry.rows));
      }
      segment->LoadDeleted(deleted, checkpoint);  // not shared yet
      clock_.Observe(segment->max_stamp());
      bitmaps.emplace_back();
    }
    for (size_t k = 0; k < entry.indexed_fields.size(); ++k) {
      const size_t field = entry.indexed_fields[k];
      if (field >= schema_.fields.size() || !WantsIndex(field)) continue;
      const uint64_t epoch = k < entry.index_epochs.size() ? entry.index_epochs[k] : 0;
      const std::string index_name = IndexName(entry.id, field, epoch);
      named.insert(index_name);
      std::shared_ptr<const index::VectorIndex> index;
      if (auto it = held_indexes.find({entry.id, field, epoch}); it != held_indexes.end()) {
        index = it->second;
      } else {
        auto opened = OpenIndex(*segment, field, epoch);
        if (!opened.ok()) {
          QV_RETURN_IF_ERROR(files_->Evict(index_name));
          opened = OpenIndex(*segment, field, epoch);
        }
        if (!opened.ok() && !skip_damaged_indexes) {
          return opened.status().WithContext("adopting manifest " + manifest_key_);
        }
        if (!opened.ok()) {
          log::Get("index").error("table {}: index {} does not open (built again): {}",
                                  schema_.name, files_->Where(index_name),
                                  opened.status().ToString());
          continue;
        }
        index = std::move(opened).value();
      }
      auto& slots = indexes[entry.id];
      slots.resize(schema_.fields.size());
      slots[field] = std::move(index);
      index_epochs[{entry.id, field}] = epoch;
    }
    segments.push_back(std::move(segment));
  }
  if (same_segments) {
    std::vector<std::string> replaced;  // cache copies of indexes no longer named
    {
      MutexLock state(&state_mu_);
      for (const auto& [key, epoch] : index_epochs_) {
        if (!named.contains(IndexName(key.first, key.second, epoch)))
          replaced.push_back(IndexName(key.first, key.second, epoch));
      }
      indexes_ = std::move(indexes);
      index_epochs_ = std::move(index_epochs);
      Publish();
    }
    next_segment_id_ = manifest.next_segment_id;
    manifest_revision_ = stored.mod_revision;
    for (const std::string& name : replaced) QV_RETURN_IF_ERROR(files_->Evict(name));
    return Status::OK();
  }

  // The records after the checkpoint that this replica applied already are
  // applied again on top of the new segments (the growing rows they made,
  // and their deletes of sealed rows).
  Lsn applied;
  {
    MutexLock order(&order_mu_);
    applied = applied_lsn_;
  }
  std::vector<std::string> payloads;
  std::vector<LogRecord> tail;
  if (applied > checkpoint) {
    QV_ASSIGN_OR_RETURN(auto reader, log_->ReadFrom(checkpoint + 1));
    const auto deadline = std::chrono::steady_clock::now() + kTailWait;
    payloads.reserve(applied - checkpoint);
    while (tail.empty() || tail.back().lsn < applied) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return Status::Unavailable(
            "table '" + schema_.name + "': the log did not hand back LSN " +
            std::to_string(tail.empty() ? checkpoint + 1 : tail.back().lsn + 1) + " again in time");
      }
      QV_ASSIGN_OR_RETURN(auto record, reader->Next(left));
      if (!record) continue;
      const Lsn expected = tail.empty() ? checkpoint + 1 : tail.back().lsn + 1;
      if (record->lsn != expected) {
        return Status::NotFound("table '" + schema_.name + "': LSN " + std::to_string(expected) +
                                " is no longer in the log (a newer manifest covers it)");
      }
      payloads.emplace_back(record->payload);
      tail.push_back({record->lsn, record->type, {}});
    }
    for (size_t i = 0; i < tail.size(); ++i) tail[i].payload = payloads[i];
  }

  std::vector<std::string> dropped;  // cache copies no longer named
  {
    MutexLock order(&order_mu_);
    MutexLock state(&state_mu_);
    for (const auto& s : sealed_) {
      if (!named.contains(SegmentName(s->id(), s->epoch())))
        dropped.push_back(SegmentName(s->id(), s->epoch()));
    }
    for (const auto& [key, epoch] : index_epochs_) {
      if (!named.contains(IndexName(key.first, key.second, epoch)))
        dropped.push_back(IndexName(key.first, key.second, epoch));
    }
    for (size_t i = 0; i < segments.size(); ++i) {
      // Deletes up to the checkpoint that this replica had not applied (it
      // is behind it): the records that made them are skipped below.
      if (!bitmaps[i].isEmpty()) segments[i]->LoadDeleted(bitmaps[i], checkpoint);
    }
    sealed_ = std::move(segments);
    indexes_ = std::move(indexes);
    index_epochs_ = std::move(index_epochs);
    frozen_.clear();
    frozen_keys_.clear();
    growing_.clear();
    growing_keys_.clear();
    growing_min_lsn_ = growing_max_lsn_ = 0;
    growing_since_ = std::chrono::steady_clock::now();
    state_lsn_ = checkpoint;
    for (const LogRecord& record : tail) {
      auto again = Apply(record, /*trusted=*/false);
      if (!again.ok()) {
        // It applied once; it must again. Writes stop as for any failed apply.
        log::Get("engine").error("table {}: applying LSN {} again failed: {}", schema_.name,
                                 record.lsn, again.status().ToString());
        MutexLock failure(&failure_mu_);
        if (apply_failure_.ok()) {
          apply_failure_ = Status::Unavailable("table '" + schema_.name + "': applying LSN " +
                                               std::to_string(record.lsn) + " again failed (" +
                                               again.status().ToString() + ")");
          apply_failed_ = true;
        }
      }
      state_lsn_ = record.lsn;
    }
    if (applied < checkpoint) {
      // Records this replica never applied are in the segments: it goes on
      // reading after the checkpoint.
      applied_lsn_ = state_lsn_ = checkpoint;
      reader_.reset();
    }
    Publish();
  }
  order_cv_.SignalAll();
  checkpoint_lsn_ = checkpoint;
  next_segment_id_ = manifest.next_segment_id;
  manifest_revision_ = stored.mod_revision;
  // Versions still pinned keep their mappings; the names go.
  for (const std::string& name : dropped) QV_RETURN_IF_ERROR(files_->Evict(name));
  log::Get("engine").debug(
      "table {}: adopted manifest revision {} ({} segments, checkpoint {}, "
      "{} records applied again)",
      schema_.name, stored.mod_revision, manifest.segments.size(), checkpoint, tail.size());
  return Status::OK();
}

}  // namespace quiver
