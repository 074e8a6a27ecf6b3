// Shard: the indexes of sealed segments -- loading them at open, building
// missing ones (the index rebuilder's work), and finding them for searches.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "engine/shard.h"

namespace quiver {

bool Shard::WantsIndex(size_t field) const {
  const Field& f = schema_.fields[field];
  return IsDenseVectorType(f.type) && f.index.type != IndexType::kFlat;
}

index::VectorSet Shard::VectorSetOf(const Segment& segment, size_t field) const {
  const Field& f = schema_.fields[field];
  const Column& column = segment.columns()[field];
  index::VectorSet v;
  if (f.type == DataType::kVectorBinary) {
    v.bits = column.BitsData();
  } else {
    v.floats = column.VectorData();
  }
  v.rows = segment.num_rows();
  v.dims = f.dimensions;
  v.metric = f.metric;
  if (const auto* sealed = dynamic_cast<const SealedSegment*>(&segment)) {
    v.segment_id = sealed->id();
    v.min_lsn = sealed->min_lsn();
    v.max_lsn = sealed->max_lsn();
  }
  return v;
}

std::string Shard::IndexName(uint64_t segment, size_t field, uint64_t epoch) {
  std::string name = std::to_string(segment) + "." + std::to_string(field);
  if (epoch != 0) name += ".e" + std::to_string(epoch);
  return JoinPath("indexes", name + ".qvi");
}

Result<std::shared_ptr<const index::VectorIndex>> Shard::OpenIndex(const SealedSegment& segment,
                                                                   size_t field,
                                                                   uint64_t epoch) const {
  const std::string name = IndexName(segment.id(), field, epoch);
  const std::string path = files_->Where(name);
  QV_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, files_->Open(name));
  QV_ASSIGN_OR_RETURN(auto opened,
                      index::OpenIndexFile(std::move(file), VectorSetOf(segment, field), path));
  if (opened->type() != schema_.fields[field].index.type) {
    return Status::Corruption("index " + path + " is " + IndexTypeName(opened->type()) +
                              ", the field wants " +
                              IndexTypeName(schema_.fields[field].index.type));
  }
  return std::shared_ptr<const index::VectorIndex>(std::move(opened));
}

Status Shard::LoadIndexes(const Manifest& manifest) {
  QV_RETURN_IF_ERROR(fs_->CreateDirs(JoinPath(dir_, "indexes")));
  std::set<std::string> referenced;
  for (size_t i = 0; i < manifest.segments.size(); ++i) {
    const SealedSegment& segment = *sealed_[i];
    const ManifestSegment& entry = manifest.segments[i];
    for (size_t k = 0; k < entry.indexed_fields.size(); ++k) {
      const uint32_t field = entry.indexed_fields[k];
      if (field >= schema_.fields.size() || !WantsIndex(field)) continue;
      const uint64_t epoch = k < entry.index_epochs.size() ? entry.index_epochs[k] : 0;
      const std::string name = IndexName(segment.id(), field, epoch);
      auto opened = OpenIndex(segment, field, epoch);
      if (!opened.ok() && files_->remote()) {
        QV_RETURN_IF_ERROR(files_->Evict(name));  // a damaged cache copy: fetched again
        opened = OpenIndex(segment, field, epoch);
      }
      if (opened.ok() || options_.manifest_store != nullptr) {
        if (!opened.ok()) {
          // The leader's file: it is not ours to quarantine. Searched
          // exactly meanwhile; the leader builds a missing index again.
          log::Get("index").error("table {}: index {} does not open: {}", schema_.name,
                                  files_->Where(name), opened.status().ToString());
          referenced.insert(name);
          continue;
        }
        auto& slots = indexes_[segment.id()];
        slots.resize(schema_.fields.size());
        slots[field] = std::move(opened).value();
        index_epochs_[{segment.id(), field}] = epoch;
        referenced.insert(name);
        continue;
      }
      // Never served: moved aside for a post-mortem, and built again.
      log::Get("index").warn("table {}: index {} is damaged, quarantined and rebuilt: {}",
                             schema_.name, files_->Where(name), opened.status().ToString());
      const auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
      const std::string kept = std::to_string(segment.id()) + "." + std::to_string(field) +
                               ".qvi." + std::to_string(stamp);
      QV_RETURN_IF_ERROR(files_->Quarantine(name, JoinPath(JoinPath(dir_, "quarantine"), kept)));
    }
  }
  // Files the manifest does not register: a build that crashed before its
  // manifest, or indexes of segments compaction replaced.
  QV_ASSIGN_OR_RETURN(auto names, files_->List("indexes"));
  for (const auto& file : names) {
    const std::string name = JoinPath("indexes", file);
    if (referenced.contains(name)) continue;
    if (options_.manifest_store != nullptr) {
      QV_RETURN_IF_ERROR(files_->Evict(name));  // shared files are the leader's to remove
      continue;
    }
    log::Get("index").info("table {}: removing unreferenced index file {}", schema_.name,
                           files_->Where(name));
    QV_RETURN_IF_ERROR(files_->Remove(name));
  }
  return Status::OK();
}

Result<bool> Shard::BuildNextIndex(const std::atomic<bool>* stop) {
  if (!Maintains()) return false;  // a follower takes the leader's indexes
  std::shared_ptr<SealedSegment> segment;
  size_t field = 0;
  {
    MutexLock state(&state_mu_);
    MutexLock lock(&index_mu_);
    for (const auto& s : sealed_) {
      auto built = indexes_.find(s->id());
      for (size_t f = 0; f < schema_.fields.size() && !segment; ++f) {
        if (!WantsIndex(f)) continue;
        if (built != indexes_.end() && built->second.size() > f && built->second[f]) continue;
        const IndexKey key{s->id(), f};
        if (building_.contains(key) || failed_.contains(key)) continue;
        building_.insert(key);
        segment = s;
        field = f;
      }
      if (segment) break;
    }
  }
  if (!segment) return false;
  const auto start = std::chrono::steady_clock::now();
  Status built = BuildIndex(segment, field, stop);
  MutexLock lock(&index_mu_);
  building_.erase({segment->id(), field});
  if (built.ok()) {
    ++builds_done_;
    build_seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  // Cancelled, or this replica stepped down meanwhile: not a failed build.
  if (!built.ok() && ((stop != nullptr && stop->load()) || !Maintains())) return built;
  if (!built.ok()) {
    failed_[{segment->id(), field}] = built.ToString();
    return built.WithContext("building the index of table '" + schema_.name + "' field '" +
                             schema_.fields[field].name + "'");
  }
  return true;
}

Status Shard::BuildIndex(const std::shared_ptr<SealedSegment>& segment, size_t field,
                         const std::atomic<bool>* stop) {
  const auto start = std::chrono::steady_clock::now();
  // The segment is immutable and mapped: no lock is needed to read it, and
  // the shared_ptr keeps it alive even if compaction replaces it meanwhile.
  QV_ASSIGN_OR_RETURN(std::string bytes, index::BuildIndexFile(VectorSetOf(*segment, field),
                                                               schema_.fields[field].index, stop));
  const uint64_t epoch = epoch_;
  const std::string name = IndexName(segment->id(), field, epoch);
  QV_RETURN_IF_ERROR(files_->Write(name, bytes, "index"));
  auto opened = OpenIndex(*segment, field, epoch);
  const Status open_status = opened.status();
  MutexLock maintenance(&maintenance_mu_);
  if (!Maintains())
    return Status::Unavailable("table '" + schema_.name + "' stepped down while building an index");
  bool replaced = false;
  {
    MutexLock state(&state_mu_);
    replaced = std::find(sealed_.begin(), sealed_.end(), segment) == sealed_.end();
    if (!replaced && opened.ok()) {
      auto& slots = indexes_[segment->id()];
      slots.resize(schema_.fields.size());
      slots[field] = std::move(opened).value();
      index_epochs_[{segment->id(), field}] = epoch;
      Publish();
    }
  }
  if (replaced) {
    // Compacted away meanwhile (the compaction may have removed the file
    // already, so the open may have failed): its successor gets its own build.
    return files_->Remove(name);
  }
  QV_RETURN_IF_ERROR(open_status);
  QV_RETURN_IF_ERROR(WriteManifest(checkpoint_lsn_.load()));
  log::Get("index").debug(
      "table {}: indexed field {} of segment {} ({} rows) in {:.2f} s", schema_.name,
      schema_.fields[field].name, segment->id(), segment->num_rows(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return Status::OK();
}

Status Shard::BuildAllIndexes() {
  while (true) {
    QV_ASSIGN_OR_RETURN(bool built, BuildNextIndex());
    if (!built) return Status::OK();
  }
}

size_t Shard::PendingIndexes() const {
  MutexLock state(&state_mu_);
  MutexLock lock(&index_mu_);
  size_t pending = 0;
  for (const auto& s : sealed_) {
    auto built = indexes_.find(s->id());
    for (size_t f = 0; f < schema_.fields.size(); ++f) {
      if (!WantsIndex(f) || failed_.contains({s->id(), f})) continue;
      if (built == indexes_.end() || built->second.size() <= f || !built->second[f]) ++pending;
    }
  }
  return pending;
}

}  // namespace quiver
