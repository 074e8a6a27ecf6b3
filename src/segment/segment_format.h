#pragma once

// The sealed segment file format (docs/FORMATS.md, "Segment"), shared by the
// writer, the reader and `quiver inspect segment`.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "schema/schema.h"
#include "wal/log.h"

namespace quiver::segment_format {

inline constexpr std::string_view kHeaderMagic{"QVSEG\x00\x00\x01", 8};
inline constexpr std::string_view kTrailerMagic{"QVSEGEND", 8};
// Version 2 added the rows' write stamps after the primary-key order.
inline constexpr uint32_t kVersion = 2;
inline constexpr uint32_t kMinVersion = 1;
inline constexpr size_t kHeaderSize = 16;   // magic, u32 version, u32 reserved
inline constexpr size_t kTrailerSize = 32;  // u64 footer offset, length, checksum; magic
inline constexpr size_t kVectorAlignment = 64;
inline constexpr size_t kRowsPerBlock = 65536;

enum class ColumnKind : uint8_t { kRawVectors = 1, kZstdBlocks = 2 };

struct Block {
  uint64_t offset = 0;
  uint32_t stored_size = 0;  // compressed bytes in the file
  uint32_t raw_size = 0;     // bytes after decompression
  uint32_t rows = 0;
  uint64_t checksum = 0;  // XXH3-64 of the stored bytes
};

struct ColumnMeta {
  ColumnKind kind = ColumnKind::kZstdBlocks;
  uint64_t offset = 0, length = 0, checksum = 0;  // kRawVectors
  std::vector<Block> blocks;                      // kZstdBlocks
  bool has_min_max = false;
  uint64_t min_bits = 0, max_bits = 0;  // int64 or double bits, by field type
};

struct Footer {
  uint64_t row_count = 0;
  Lsn min_lsn = 0, max_lsn = 0;
  std::vector<Field> fields;
  std::vector<ColumnMeta> columns;
  std::vector<uint32_t> key_order;  // row numbers sorted by primary key
  // Each row's write stamp (u64 little-endian, zstd blocks); none in version 1.
  std::vector<Block> stamp_blocks;
};

std::string EncodeFooter(const Footer& footer);
Result<Footer> DecodeFooter(std::string_view bytes, uint32_t version = kVersion);

// Checks header and trailer and returns the decoded footer.
Result<Footer> ReadFooter(std::string_view file);

}  // namespace quiver::segment_format
