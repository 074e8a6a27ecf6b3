// Table: sealing, checkpoints and compaction.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "common/crash_point.h"
#include "common/log.h"
#include "engine/table.h"
#include "segment/manifest.h"

namespace quiver {
namespace {

// The live rows of some segments copied into fresh columns, and where each
// old row went (-1: it was not live when copied).
struct LiveRows {
  std::vector<Column> columns;
  std::vector<std::vector<uint8_t>> was_live;  // per segment, per row
  std::vector<std::vector<int64_t>> new_row;   // per segment, per row
};

LiveRows CopyLiveRows(const TableSchema& schema, const std::vector<const Segment*>& segments) {
  LiveRows out;
  for (const Field& field : schema.fields) out.columns.emplace_back(field);
  size_t next = 0;
  for (const Segment* segment : segments) {
    auto& live = out.was_live.emplace_back();
    segment->AppendLiveFlags(&live);
    auto& mapping = out.new_row.emplace_back(live.size(), -1);
    const auto columns = segment->columns();
    for (size_t row = 0; row < live.size(); ++row) {
      if (!live[row]) continue;
      for (size_t f = 0; f < columns.size(); ++f) out.columns[f].AppendFrom(columns[f], row);
      mapping[row] = static_cast<int64_t>(next++);
    }
  }
  return out;
}

// Rows deleted after the copy are deleted in the new segment too.
void CarryOverDeletes(const Segment& old, const std::vector<uint8_t>& was_live,
                      const std::vector<int64_t>& new_row, Segment* replacement) {
  for (size_t row = 0; row < was_live.size(); ++row) {
    if (was_live[row] && !old.IsLive(row))
      replacement->MarkDeleted(static_cast<size_t>(new_row[row]));
  }
}

size_t RowBytes(const TableSchema& schema) {
  size_t bytes = 16;
  for (const Field& f : schema.fields) {
    if (f.type == DataType::kVectorBinary) {
      bytes += BinaryWords(f.dimensions) * sizeof(uint64_t);
    } else {
      bytes += IsFloatVectorType(f.type) ? f.dimensions * sizeof(float) : 8;
    }
  }
  return bytes;
}

}  // namespace

Status Table::WriteManifest(Lsn checkpoint) {
  Manifest manifest;
  manifest.checkpoint_lsn = checkpoint;
  manifest.next_segment_id = next_segment_id_;
  {
    ReaderLock lock(&data_mu_);
    for (const auto& s : sealed_) {
      ManifestSegment entry{s->id(), s->num_rows(), s->min_lsn(), s->max_lsn(), {}, {}};
      if (auto built = indexes_.find(s->id()); built != indexes_.end()) {
        for (size_t f = 0; f < built->second.size(); ++f) {
          if (built->second[f]) entry.indexed_fields.push_back(static_cast<uint32_t>(f));
        }
      }
      entry.deleted.resize(s->deleted().getSizeInBytes());
      s->deleted().write(entry.deleted.data());
      manifest.segments.push_back(std::move(entry));
    }
  }
  QV_RETURN_IF_ERROR(
      fs_->WriteFileAtomic(JoinPath(dir_, "MANIFEST"), EncodeManifest(manifest), "manifest"));
  checkpoint_lsn_ = checkpoint;
  return Status::OK();
}

Status Table::Seal() {
  MutexLock maintenance(&maintenance_mu_);
  std::optional<Lsn> checkpoint_only;
  {
    MutexLock order(&order_mu_);
    WriterLock data(&data_mu_);
    // A frozen segment left by a failed seal is sealed again as it is.
    if (!frozen_ && growing_->num_rows() == 0) {
      // Nothing to seal, but deletes may have made the log long: checkpoint
      // the delete bitmaps as they are at this exact LSN.
      checkpoint_only = applied_lsn_;
    } else if (!frozen_) {
      frozen_ = std::move(growing_);
      frozen_min_lsn_ = growing_min_lsn_;
      frozen_max_lsn_ = growing_max_lsn_;
      frozen_checkpoint_ = applied_lsn_;
      growing_ = std::make_shared<GrowingSegment>(schema_);
      growing_min_lsn_ = growing_max_lsn_ = 0;
      log_->StartNewFile();
    }
  }
  if (checkpoint_only) {
    if (*checkpoint_only == checkpoint_lsn_) return Status::OK();
    log_->StartNewFile();
    QV_RETURN_IF_ERROR(WriteManifest(*checkpoint_only));
    return TrimLog(*checkpoint_only);
  }
  return SealFrozen();
}

Status Table::SealFrozen() {
  LiveRows copy;
  {
    ReaderLock lock(&data_mu_);
    copy = CopyLiveRows(schema_, {frozen_.get()});
  }
  std::shared_ptr<SealedSegment> sealed;
  const size_t rows = copy.columns[0].size();
  if (rows > 0) {
    const uint64_t id = next_segment_id_++;
    const std::string path = SegmentPath(id);
    Status written =
        WriteSegmentFile(fs_, path, schema_, copy.columns, frozen_min_lsn_, frozen_max_lsn_);
    if (!written.ok()) {
      (void)fs_->RemoveFile(path + std::string(kTempSuffix));
      return written.WithContext("sealing table '" + schema_.name + "'");
    }
    QV_ASSIGN_OR_RETURN(sealed, SealedSegment::Open(fs_, path, schema_, id));
  }
  {
    WriterLock lock(&data_mu_);
    if (sealed) {
      CarryOverDeletes(*frozen_, copy.was_live[0], copy.new_row[0], sealed.get());
      sealed_.push_back(sealed);
    }
    frozen_.reset();
  }
  QV_RETURN_IF_ERROR(WriteManifest(frozen_checkpoint_));
  log::Get("engine").debug("table {}: sealed {} rows up to LSN {}", schema_.name, rows,
                           frozen_checkpoint_);
  return TrimLog(frozen_checkpoint_);
}

Status Table::TrimLog(Lsn checkpoint) {
  // Without a successor file the current one could not be removed.
  if (Status rotated = log_->Rotate(); !rotated.ok()) {
    log::Get("engine").warn("table {}: could not start a new WAL file: {}", schema_.name,
                            rotated.ToString());
  }
  return log_->TrimTo(checkpoint);
}

Status Table::MaybeSeal() {
  bool due;
  {
    ReaderLock lock(&data_mu_);
    const size_t rows = growing_->num_rows();
    const auto age = std::chrono::steady_clock::now() - growing_since_;
    due = frozen_ != nullptr || rows >= options_.seal_rows ||
          rows * RowBytes(schema_) >= options_.seal_bytes || (rows > 0 && age >= options_.seal_age);
  }
  // A log of deletes alone also deserves a checkpoint now and then.
  due = due || log_->LastLsn() - checkpoint_lsn_.load() >= options_.seal_rows;
  return due ? Seal() : Status::OK();
}

Status Table::Compact(bool force) {
  MutexLock maintenance(&maintenance_mu_);
  std::vector<std::shared_ptr<SealedSegment>> chosen;
  LiveRows copy;
  {
    ReaderLock lock(&data_mu_);
    bool any_deleted = false;
    for (const auto& s : sealed_) any_deleted = any_deleted || s->live_rows() < s->num_rows();
    if (force) {
      if (sealed_.size() >= 2 || any_deleted) chosen = sealed_;
    } else {
      for (const auto& s : sealed_) {
        const double deleted =
            1.0 - double(s->live_rows()) / double(std::max<size_t>(1, s->num_rows()));
        if (deleted > options_.max_deleted_fraction) chosen.push_back(s);
      }
      if (sealed_.size() > options_.max_segments) {
        // Merge the smallest segments down to half the limit.
        auto by_size = sealed_;
        std::sort(by_size.begin(), by_size.end(),
                  [](const auto& a, const auto& b) { return a->live_rows() < b->live_rows(); });
        const size_t merge = sealed_.size() - options_.max_segments / 2;
        for (size_t i = 0; i < merge; ++i) {
          if (std::find(chosen.begin(), chosen.end(), by_size[i]) == chosen.end())
            chosen.push_back(by_size[i]);
        }
      }
    }
    if (chosen.empty()) return Status::OK();
    std::vector<const Segment*> sources;
    sources.reserve(chosen.size());
    for (const auto& s : chosen) sources.push_back(s.get());
    copy = CopyLiveRows(schema_, sources);
  }
  Lsn min_lsn = chosen[0]->min_lsn(), max_lsn = chosen[0]->max_lsn();
  for (const auto& s : chosen) {
    min_lsn = std::min(min_lsn, s->min_lsn());
    max_lsn = std::max(max_lsn, s->max_lsn());
  }
  std::shared_ptr<SealedSegment> merged;
  const size_t rows = copy.columns[0].size();
  if (rows > 0) {
    const uint64_t id = next_segment_id_++;
    const std::string path = SegmentPath(id);
    Status written = WriteSegmentFile(fs_, path, schema_, copy.columns, min_lsn, max_lsn);
    if (!written.ok()) {
      (void)fs_->RemoveFile(path + std::string(kTempSuffix));
      return written.WithContext("compacting table '" + schema_.name + "'");
    }
    QV_ASSIGN_OR_RETURN(merged, SealedSegment::Open(fs_, path, schema_, id));
  }
  {
    WriterLock lock(&data_mu_);
    for (size_t i = 0; i < chosen.size(); ++i) {
      if (merged) CarryOverDeletes(*chosen[i], copy.was_live[i], copy.new_row[i], merged.get());
    }
    auto first = std::find(sealed_.begin(), sealed_.end(), chosen[0]) - sealed_.begin();
    std::erase_if(sealed_, [&](const auto& s) {
      return std::find(chosen.begin(), chosen.end(), s) != chosen.end();
    });
    MutexLock index_lock(&index_mu_);
    for (const auto& s : chosen) {
      indexes_.erase(s->id());
      std::erase_if(failed_, [&](const auto& entry) { return entry.first.first == s->id(); });
    }
    if (merged)
      sealed_.insert(sealed_.begin() + std::min<ptrdiff_t>(first, sealed_.size()), merged);
  }
  CrashPoint("compaction.mid_swap");
  QV_RETURN_IF_ERROR(WriteManifest(checkpoint_lsn_.load()));
  CrashPoint("compaction.before_cleanup");
  for (const auto& s : chosen) {
    QV_RETURN_IF_ERROR(fs_->RemoveFile(SegmentPath(s->id())));
    for (size_t f = 0; f < schema_.fields.size(); ++f) {
      if (!WantsIndex(f)) continue;
      const std::string index = IndexPath(s->id(), f);
      QV_ASSIGN_OR_RETURN(bool exists, fs_->Exists(index));
      if (exists) QV_RETURN_IF_ERROR(fs_->RemoveFile(index));
    }
  }
  QV_RETURN_IF_ERROR(fs_->SyncDir(JoinPath(dir_, "indexes")));
  log::Get("engine").debug("table {}: compacted {} segments into {} rows", schema_.name,
                           chosen.size(), rows);
  return fs_->SyncDir(JoinPath(dir_, "segments"));
}

}  // namespace quiver
