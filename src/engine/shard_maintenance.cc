// Shard: sealing, checkpoints and compaction.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>

#include "common/crash_point.h"
#include "common/log.h"
#include "engine/shard.h"
#include "segment/manifest.h"

namespace quiver {

// Which rows of some segment views are live at a snapshot, in the order the
// new segment holds them (by write stamp, so a sealed or merged segment is
// in insertion order even when concurrent writers appended out of it):
// where each old row goes (-1: it was not live), each new row's source, and
// the new rows' write stamps. The rows themselves are copied column by
// column as the new file is written (Shard::WriteSegment).
struct LiveRows {
  size_t rows = 0;
  std::vector<uint64_t> stamps;
  std::vector<std::pair<uint32_t, uint32_t>> source;  // per new row: view, row
  std::vector<std::vector<int64_t>> new_row;          // per view, per row
};

namespace {

LiveRows FindLiveRows(const std::vector<SegmentView>& views, Lsn snapshot) {
  LiveRows out;
  for (size_t v = 0; v < views.size(); ++v) {
    const SegmentView& view = views[v];
    out.new_row.emplace_back(view.rows, -1);
    for (size_t row = 0; row < view.rows; ++row) {
      if (view.segment->IsLiveAt(row, snapshot))
        out.source.emplace_back(static_cast<uint32_t>(v), static_cast<uint32_t>(row));
    }
  }
  auto stamp = [&](const std::pair<uint32_t, uint32_t>& at) {
    return views[at.first].segment->stamp(at.second);
  };
  // Stable: rows of equal stamps (from before stamps) keep their order.
  std::stable_sort(out.source.begin(), out.source.end(),
                   [&](const auto& a, const auto& b) { return stamp(a) < stamp(b); });
  out.rows = out.source.size();
  out.stamps.reserve(out.rows);
  for (size_t i = 0; i < out.rows; ++i) {
    out.stamps.push_back(stamp(out.source[i]));
    out.new_row[out.source[i].first][out.source[i].second] = static_cast<int64_t>(i);
  }
  return out;
}

// Rows deleted after the snapshot they were copied at are deleted in the new
// segment too, at the same LSN. The caller holds the state lock, so no
// delete can slip in between.
void CarryOverDeletes(const Segment& old, const std::vector<int64_t>& new_row, Lsn snapshot,
                      Segment* replacement) {
  if (!old.deletes().AnyDeletedAt(kLatest)) return;
  for (size_t row = 0; row < new_row.size(); ++row) {
    const Lsn at = old.deletes().DeletedAt(row);
    if (new_row[row] >= 0 && at > snapshot) {
      replacement->MarkDeleted(static_cast<size_t>(new_row[row]), at);
    }
  }
}

}  // namespace

Result<std::shared_ptr<SealedSegment>> Shard::WriteSegment(uint64_t id,
                                                           const std::vector<SegmentView>& views,
                                                           const LiveRows& live, Lsn min_lsn,
                                                           Lsn max_lsn) {
  const uint64_t epoch = epoch_;
  const std::string name = SegmentName(id, epoch);
  QV_RETURN_IF_ERROR(files_->WriteFrom(
      name,
      [&](WritableFile* out) -> Status {
        SegmentFileWriter writer(schema_, live.rows, out);
        QV_RETURN_IF_ERROR(writer.Begin());
        // The live rows in their new order, shared by every field.
        std::vector<std::pair<const Segment*, uint32_t>> rows;
        rows.reserve(live.rows);
        for (const auto& [v, row] : live.source) rows.emplace_back(views[v].segment.get(), row);
        for (size_t f = 0; f < schema_.fields.size(); ++f) {
          const Field& field = schema_.fields[f];
          if (IsDenseVectorType(field.type)) {
            // Straight from the sources (mapped files or growing chunks).
            const bool binary = field.type == DataType::kVectorBinary;
            const size_t row_bytes = binary ? BinaryWords(field.dimensions) * sizeof(uint64_t)
                                            : field.dimensions * sizeof(float);
            QV_RETURN_IF_ERROR(writer.AddVectors(row_bytes, [&](size_t r) {
              const Column& column = rows[r].first->columns()[f];
              return binary
                         ? reinterpret_cast<const char*>(column.GetBits(rows[r].second).data())
                         : reinterpret_cast<const char*>(column.GetVector(rows[r].second).data());
            }));
            continue;
          }
          Column column(field);  // one scalar column at a time
          column.Reserve(live.rows);
          for (const auto& [segment, row] : rows) column.AppendFrom(segment->columns()[f], row);
          QV_RETURN_IF_ERROR(writer.AddColumn(column));
        }
        return writer.Finish(live.stamps, min_lsn, max_lsn);
      },
      "segment"));
  return OpenSegment(id, epoch);
}

Status Shard::WriteManifest(Lsn checkpoint) {
  Manifest manifest;
  manifest.checkpoint_lsn = checkpoint;
  manifest.next_segment_id = next_segment_id_;
  std::vector<std::shared_ptr<SealedSegment>> sealed;
  {
    MutexLock lock(&state_mu_);
    sealed = sealed_;
    for (const auto& s : sealed) {
      ManifestSegment entry{s->id(), s->num_rows(), s->min_lsn(), s->max_lsn(), {}, {}};
      entry.epoch = s->epoch();
      if (auto built = indexes_.find(s->id()); built != indexes_.end()) {
        for (size_t f = 0; f < built->second.size(); ++f) {
          if (!built->second[f]) continue;
          entry.indexed_fields.push_back(static_cast<uint32_t>(f));
          auto epoch = index_epochs_.find({s->id(), f});
          entry.index_epochs.push_back(epoch == index_epochs_.end() ? 0 : epoch->second);
        }
      }
      manifest.segments.push_back(std::move(entry));
    }
  }
  // Outside the lock: the deletes up to the checkpoint, exactly (those
  // after it are in the log above the checkpoint; a follower that adopts
  // the manifest must not see them before it applies them).
  for (size_t i = 0; i < sealed.size(); ++i) {
    const Roaring deleted = sealed[i]->DeletedRows(checkpoint);
    manifest.segments[i].deleted.resize(deleted.getSizeInBytes());
    deleted.write(manifest.segments[i].deleted.data());
  }
  // A compare-and-swap on the revision this table last wrote: a manifest
  // changed by anyone else (a newer leader, in a cluster) is never
  // overwritten; and while leading, only while its election key holds.
  if (!Maintains()) {
    return Status::Unavailable("table '" + schema_.name +
                               "' is a follower: its leader commits the manifest");
  }
  const std::string encoded = EncodeManifest(manifest);
  auto written = fence_ ? meta_->FencedPut(manifest_key_, encoded, manifest_revision_, *fence_)
                        : meta_->CompareAndPut(manifest_key_, encoded, manifest_revision_);
  if (written.status().code() == StatusCode::kConflict && fence_) {
    // Deposed, or another wrote the manifest: this replica's files are
    // no one's now. It follows again and adopts what the manifest says.
    log::Get("engine").warn("table {}: stepping down: {}", schema_.name,
                            written.status().ToString());
    leading_ = false;
    fence_.reset();
  }
  QV_ASSIGN_OR_RETURN(manifest_revision_, std::move(written));
  checkpoint_lsn_ = checkpoint;
  return Status::OK();
}

Status Shard::Seal() {
  // No checkpoint may pass a record that did not apply (Health).
  if (apply_failed_) return Health();
  MutexLock maintenance(&maintenance_mu_);
  if (!Maintains()) {
    return Status::Unavailable("table '" + schema_.name +
                               "' is a follower: its leader seals (AwaitSynced)");
  }
  std::optional<Lsn> checkpoint_only;
  {
    MutexLock state(&state_mu_);
    const bool has_rows = std::any_of(growing_.begin(), growing_.end(),
                                      [](const auto& s) { return s->num_rows() > 0; });
    // Frozen segments left by a failed seal are sealed again as they are.
    if (frozen_.empty() && !has_rows) {
      // Nothing to seal, but deletes may have made the log long: checkpoint
      // the deletes as they are at this exact LSN.
      checkpoint_only = state_lsn_;
    } else if (frozen_.empty()) {
      frozen_ = std::move(growing_);
      growing_.clear();
      frozen_keys_ = std::move(growing_keys_);
      growing_keys_.clear();
      frozen_min_lsn_ = growing_min_lsn_;
      frozen_max_lsn_ = growing_max_lsn_;
      frozen_checkpoint_ = state_lsn_;
      growing_min_lsn_ = growing_max_lsn_ = 0;
      if (owns_log_) log_->RollOver();
      Publish();
    }
  }
  if (checkpoint_only) {
    if (*checkpoint_only == checkpoint_lsn_) return Status::OK();
    if (owns_log_) log_->RollOver();
    QV_RETURN_IF_ERROR(WriteManifest(*checkpoint_only));
    return TrimLog(*checkpoint_only);
  }
  return SealFrozen();
}

Status Shard::SealFrozen() {
  // Frozen segments take no more rows; only deletes may still come, and
  // those after the checkpoint are carried over below.
  std::vector<SegmentView> views;
  {
    MutexLock state(&state_mu_);
    for (const auto& s : frozen_) views.push_back({s, s->num_rows(), {}});
  }
  const Lsn snapshot = frozen_checkpoint_;
  const LiveRows copy = FindLiveRows(views, snapshot);
  std::shared_ptr<SealedSegment> sealed;
  const size_t rows = copy.rows;
  if (rows > 0) {
    const uint64_t id = next_segment_id_++;
    auto opened = WriteSegment(id, views, copy, frozen_min_lsn_, frozen_max_lsn_);
    if (!opened.ok()) return opened.status().WithContext("sealing table '" + schema_.name + "'");
    sealed = std::move(opened).value();
  }
  {
    MutexLock state(&state_mu_);
    if (sealed) {
      for (size_t i = 0; i < views.size(); ++i)
        CarryOverDeletes(*views[i].segment, copy.new_row[i], snapshot, sealed.get());
      sealed_.push_back(sealed);
    }
    frozen_.clear();
    frozen_keys_.clear();
    Publish();
  }
  QV_RETURN_IF_ERROR(WriteManifest(frozen_checkpoint_));
  log::Get("engine").debug("table {}: sealed {} rows up to LSN {}", schema_.name, rows,
                           frozen_checkpoint_);
  return TrimLog(frozen_checkpoint_);
}

Status Shard::TrimLog(Lsn checkpoint) {
  // The writer of a local log, or the leader of a shared one.
  if (!owns_log_ && !fence_) return Status::OK();
  return log_->TrimBefore(checkpoint + 1);
}

Status Shard::MaybeSeal() {
  if (!Maintains()) return Status::OK();  // the leader's work
  bool due;
  {
    MutexLock state(&state_mu_);
    size_t rows = 0;
    for (const auto& s : growing_) rows += s->num_rows();
    const auto age = std::chrono::steady_clock::now() - growing_since_;
    due = !frozen_.empty() || rows >= options_.seal_rows ||
          rows * schema_.RowBytes() >= options_.seal_bytes ||
          (rows > 0 && age >= options_.seal_age);
  }
  // A log of deletes alone also deserves a checkpoint now and then.
  due = due || log_->LastLsn() - checkpoint_lsn_.load() >= options_.seal_rows;
  return due ? Seal() : Status::OK();
}

Status Shard::Compact(bool force) {
  if (apply_failed_) return Health();
  MutexLock maintenance(&maintenance_mu_);
  if (!Maintains()) return Status::OK();  // the leader's work
  // Compaction reads a pinned version: sealed segments are immutable, and
  // deletes after its snapshot are carried over at the swap. The snapshot
  // is the pinned version's LSN; with a shared manifest, the checkpoint the
  // manifest will carry, so that the merged segment holds exactly the rows
  // live at that checkpoint (a follower adopting it sees no delete it has
  // not applied yet).
  const auto version = Pin();
  const bool shared = options_.manifest_store != nullptr;
  const Lsn snapshot = shared ? checkpoint_lsn_.load() : version->lsn;
  std::vector<SegmentView> chosen;
  {
    std::vector<SegmentView> sealed;
    for (const SegmentView& view : version->segments) {
      if (dynamic_cast<const SealedSegment*>(view.segment.get()) != nullptr) sealed.push_back(view);
    }
    std::map<const Segment*, size_t> live_at;  // live rows at the snapshot
    for (const SegmentView& v : sealed) {
      size_t live = v.segment->live_rows();  // at the latest LSN: never more than at the snapshot
      const double deleted = 1.0 - double(live) / double(std::max<size_t>(1, v.rows));
      if (shared && live < v.rows && (force || deleted > options_.max_deleted_fraction)) {
        // Only where it decides: a scan of the segment's delete LSNs.
        live = 0;
        for (size_t row = 0; row < v.rows; ++row)
          live += v.segment->IsLiveAt(row, snapshot) ? 1 : 0;
      }
      live_at[v.segment.get()] = live;
    }
    auto live = [&](const SegmentView& v) { return live_at[v.segment.get()]; };
    bool any_deleted = false;
    for (const auto& v : sealed) any_deleted = any_deleted || live(v) < v.rows;
    auto is_chosen = [&](const SegmentView& v) {
      return std::any_of(chosen.begin(), chosen.end(),
                         [&](const SegmentView& c) { return c.segment == v.segment; });
    };
    if (force) {
      if (sealed.size() >= 2 || any_deleted) chosen = sealed;
    } else {
      for (const auto& v : sealed) {
        const double deleted = 1.0 - double(live(v)) / double(std::max<size_t>(1, v.rows));
        if (deleted > options_.max_deleted_fraction) chosen.push_back(v);
      }
      if (sealed.size() > options_.max_segments) {
        // Merge the smallest segments down to half the limit.
        auto by_size = sealed;
        std::sort(by_size.begin(), by_size.end(),
                  [&](const auto& a, const auto& b) { return live(a) < live(b); });
        const size_t merge = sealed.size() - options_.max_segments / 2;
        for (size_t i = 0; i < merge; ++i) {
          if (!is_chosen(by_size[i])) chosen.push_back(by_size[i]);
        }
      }
    }
    // Keep the table's order: oldest first.
    std::vector<SegmentView> ordered;
    for (const auto& v : sealed) {
      if (is_chosen(v)) ordered.push_back(v);
    }
    chosen = std::move(ordered);
  }
  if (chosen.empty()) return Status::OK();
  std::vector<const SealedSegment*> sources;
  sources.reserve(chosen.size());
  for (const auto& v : chosen)
    sources.push_back(static_cast<const SealedSegment*>(v.segment.get()));
  const LiveRows copy = FindLiveRows(chosen, snapshot);
  Lsn min_lsn = sources[0]->min_lsn(), max_lsn = sources[0]->max_lsn();
  for (const SealedSegment* s : sources) {
    min_lsn = std::min(min_lsn, s->min_lsn());
    max_lsn = std::max(max_lsn, s->max_lsn());
  }
  std::shared_ptr<SealedSegment> merged;
  const size_t rows = copy.rows;
  if (rows > 0) {
    const uint64_t id = next_segment_id_++;
    auto opened = WriteSegment(id, chosen, copy, min_lsn, max_lsn);
    if (!opened.ok()) return opened.status().WithContext("compacting table '" + schema_.name + "'");
    merged = std::move(opened).value();
  }
  std::vector<std::string> dropped_indexes;  // the sources' index files
  {
    MutexLock state(&state_mu_);
    for (size_t i = 0; i < chosen.size(); ++i) {
      if (merged) CarryOverDeletes(*chosen[i].segment, copy.new_row[i], snapshot, merged.get());
    }
    auto is_source = [&](const auto& s) {
      return std::find(sources.begin(), sources.end(), s.get()) != sources.end();
    };
    auto first = std::find_if(sealed_.begin(), sealed_.end(), is_source) - sealed_.begin();
    std::erase_if(sealed_, is_source);
    {
      MutexLock index_lock(&index_mu_);
      for (const SealedSegment* s : sources) {
        std::erase_if(failed_, [&](const auto& entry) { return entry.first.first == s->id(); });
      }
    }
    for (const SealedSegment* s : sources) {
      indexes_.erase(s->id());
      for (size_t f = 0; f < schema_.fields.size(); ++f) {
        auto epoch = index_epochs_.find({s->id(), f});
        if (epoch == index_epochs_.end()) continue;
        dropped_indexes.push_back(IndexName(s->id(), f, epoch->second));
        index_epochs_.erase(epoch);
      }
    }
    if (merged)
      sealed_.insert(sealed_.begin() + std::min<ptrdiff_t>(first, sealed_.size()), merged);
    Publish();
  }
  CrashPoint("compaction.mid_swap");
  QV_RETURN_IF_ERROR(WriteManifest(checkpoint_lsn_.load()));
  CrashPoint("compaction.before_cleanup");
  for (const SealedSegment* s : sources) {
    QV_RETURN_IF_ERROR(files_->Remove(SegmentName(s->id(), s->epoch())));
  }
  for (const std::string& name : dropped_indexes) QV_RETURN_IF_ERROR(files_->Remove(name));
  QV_RETURN_IF_ERROR(files_->Sync("indexes"));
  log::Get("engine").debug("table {}: compacted {} segments into {} rows", schema_.name,
                           chosen.size(), rows);
  return files_->Sync("segments");
}

}  // namespace quiver
