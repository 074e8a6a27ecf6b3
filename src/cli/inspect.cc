#include "cli/inspect.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>

#include "catalog/catalog.h"
#include "index/vector_index.h"
#include "io/file_system.h"
#include "segment/manifest.h"
#include "segment/sealed_segment.h"
#include "segment/segment_format.h"
#include "wal/wal_format.h"

namespace quiver {

int InspectWal(const std::string& path, std::ostream& out) {
  auto fs = NewPosixFileSystem();
  auto data = fs->ReadFile(path);
  if (!data.ok()) {
    out << data.status().ToString() << "\n";
    return 1;
  }
  std::string_view view(*data);
  if (view.substr(0, wal::kFileMagic.size()) != wal::kFileMagic) {
    out << "offset 0: bad file header\n";
    return 1;
  }
  size_t offset = wal::kFileMagic.size();
  size_t records = 0;
  while (offset < view.size()) {
    LogRecord record;
    size_t size;
    auto status = wal::DecodeFrame(view.substr(offset), &record, &size);
    if (status != wal::FrameStatus::kOk) {
      out << fmt::format(
          "offset {}: {} ({} bytes to end of file)\n", offset,
          status == wal::FrameStatus::kTruncated ? "truncated record" : "checksum mismatch",
          view.size() - offset);
      return 1;
    }
    const char* type = record.type == RecordType::kInsert   ? "INSERT"
                       : record.type == RecordType::kDelete ? "DELETE"
                                                            : "UNKNOWN";
    out << fmt::format("offset {} lsn {} type {} payload {} bytes\n", offset, record.lsn, type,
                       record.payload.size());
    offset += size;
    ++records;
  }
  out << fmt::format("{} records, {} bytes, ends cleanly\n", records, view.size());
  return 0;
}

int InspectCatalog(const std::string& path, std::ostream& out) {
  auto fs = NewPosixFileSystem();
  auto data = fs->ReadFile(path);
  if (!data.ok()) {
    out << data.status().ToString() << "\n";
    return 1;
  }
  auto state = DecodeCatalog(*data);
  if (!state.ok()) {
    out << state.status().ToString() << "\n";
    return 1;
  }
  out << fmt::format("next_id {}\n", state->next_id);
  for (const auto& db : state->databases) {
    out << fmt::format("database {} id {} loaded {} path '{}'\n", db.name, db.id, db.loaded,
                       db.client_path);
    for (const auto& table : db.tables) {
      out << fmt::format("  table {} id {}\n", table.schema.name, table.id);
      for (const auto& f : table.schema.fields) {
        out << fmt::format(
            "    {} {}{}{}\n", f.name, DataTypeName(f.type), f.primary_key ? " PRIMARY KEY" : "",
            IsVectorType(f.type) ? fmt::format(" dims {} {}", f.dimensions, MetricName(f.metric))
                                 : "");
      }
    }
  }
  return 0;
}

namespace {

std::string MinMax(const Field& field, const segment_format::ColumnMeta& c) {
  if (!c.has_min_max) return "";
  if (IsFloatingType(field.type)) {
    double lo, hi;
    std::memcpy(&lo, &c.min_bits, 8);
    std::memcpy(&hi, &c.max_bits, 8);
    return fmt::format(" min {} max {}", lo, hi);
  }
  int64_t lo, hi;
  std::memcpy(&lo, &c.min_bits, 8);
  std::memcpy(&hi, &c.max_bits, 8);
  return fmt::format(" min {} max {}", lo, hi);
}

}  // namespace

int InspectSegment(const std::string& path, std::ostream& out) {
  auto fs = NewPosixFileSystem();
  auto data = fs->ReadFile(path);
  if (!data.ok()) {
    out << data.status().ToString() << "\n";
    return 1;
  }
  auto footer = segment_format::ReadFooter(*data);
  if (!footer.ok()) {
    out << footer.status().ToString() << "\n";
    return 1;
  }
  out << fmt::format("segment {} bytes, {} rows, LSN {}..{}\n", data->size(), footer->row_count,
                     footer->min_lsn, footer->max_lsn);
  for (size_t f = 0; f < footer->fields.size(); ++f) {
    const Field& field = footer->fields[f];
    const auto& c = footer->columns[f];
    if (c.kind == segment_format::ColumnKind::kRawVectors) {
      out << fmt::format("  {} {} dims {} {}: raw at offset {}, {} bytes\n", field.name,
                         DataTypeName(field.type), field.dimensions, MetricName(field.metric),
                         c.offset, c.length);
    } else {
      uint64_t stored = 0, raw = 0;
      for (const auto& b : c.blocks) stored += b.stored_size, raw += b.raw_size;
      out << fmt::format("  {} {}{}: {} zstd blocks, {} bytes ({} raw){}\n", field.name,
                         DataTypeName(field.type), field.primary_key ? " PRIMARY KEY" : "",
                         c.blocks.size(), stored, raw, MinMax(field, c));
    }
  }
  TableSchema schema{"inspect", footer->fields};
  auto opened = SealedSegment::Open(fs.get(), path, schema, 0);
  if (!opened.ok()) {
    out << opened.status().ToString() << "\n";
    return 1;
  }
  out << "every checksum verified\n";
  return 0;
}

int InspectManifest(const std::string& path, std::ostream& out) {
  auto fs = NewPosixFileSystem();
  auto data = fs->ReadFile(path);
  if (!data.ok()) {
    out << data.status().ToString() << "\n";
    return 1;
  }
  auto manifest = DecodeManifest(*data);
  if (!manifest.ok()) {
    out << manifest.status().ToString() << "\n";
    return 1;
  }
  out << fmt::format("checkpoint LSN {}, next segment id {}, {} segments\n",
                     manifest->checkpoint_lsn, manifest->next_segment_id,
                     manifest->segments.size());
  for (const auto& s : manifest->segments) {
    uint64_t deleted = 0;
    if (!s.deleted.empty()) {
      try {
        deleted = Roaring::readSafe(s.deleted.data(), s.deleted.size()).cardinality();
      } catch (const std::exception&) {
        out << fmt::format("  segment {}: delete bitmap does not decode\n", s.id);
        return 1;
      }
    }
    out << fmt::format("  segment {}: {} rows, {} deleted, LSN {}..{}, indexed fields [{}]", s.id,
                       s.rows, deleted, s.min_lsn, s.max_lsn, fmt::join(s.indexed_fields, ", "));
    // Epochs only where a cluster's leader wrote (standalone: all 0).
    const bool epochs = s.epoch != 0 || std::any_of(s.index_epochs.begin(), s.index_epochs.end(),
                                                    [](uint64_t e) { return e != 0; });
    if (epochs) {
      out << fmt::format(", epoch {}, index epochs [{}]", s.epoch, fmt::join(s.index_epochs, ", "));
    }
    out << "\n";
  }
  return 0;
}

int InspectIndex(const std::string& path, std::ostream& out) {
  auto fs = NewPosixFileSystem();
  auto data = fs->ReadFile(path);
  if (!data.ok()) {
    out << data.status().ToString() << "\n";
    return 1;
  }
  auto described = index::DescribeIndexFile(*data, path);
  out << (described.ok() ? *described : described.status().ToString() + "\n");
  return described.ok() ? 0 : 1;
}

}  // namespace quiver
