#include "cli/inspect.h"

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "io/file_system.h"
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

}  // namespace quiver
