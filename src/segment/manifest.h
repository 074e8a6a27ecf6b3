#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "wal/log.h"

namespace quiver {

// The manifest's key in a table's MetaStore (the file `MANIFEST` locally).
inline constexpr char kManifestKey[] = "MANIFEST";

struct ManifestSegment {
  uint64_t id = 0;
  uint64_t rows = 0;
  Lsn min_lsn = 0, max_lsn = 0;
  std::string deleted;  // the delete bitmap, CRoaring portable serialisation
  // Fields (schema positions) whose index file for this segment is complete.
  std::vector<uint32_t> indexed_fields;
  // The epoch of the writer that wrote the segment file, and of the builder
  // of each index in indexed_fields: part of the files' names, so a deposed
  // leader's uploads never overwrite what a newer one committed (0: standalone).
  uint64_t epoch = 0;
  std::vector<uint64_t> index_epochs;

  bool operator==(const ManifestSegment&) const = default;
};

// A table's durable state apart from its log: the sealed segments with their
// delete bitmaps and index files, and the checkpoint LSN every log record at or below which
// they already contain. Replaced atomically (docs/FORMATS.md, "Manifest").
struct Manifest {
  Lsn checkpoint_lsn = 0;
  uint64_t next_segment_id = 1;
  std::vector<ManifestSegment> segments;

  bool operator==(const Manifest&) const = default;
};

std::string EncodeManifest(const Manifest& manifest);
Result<Manifest> DecodeManifest(std::string_view data);

}  // namespace quiver
