#pragma once

// The local WAL's byte format (docs/FORMATS.md, "WAL"). Shared by the writer,
// the recovery reader and `quiver inspect wal`.

#include <cstdint>
#include <string>
#include <string_view>

#include "wal/log.h"

namespace quiver::wal {

// Every WAL file starts with these 8 bytes.
inline constexpr std::string_view kFileMagic{"QVWAL\x00\x00\x01", 8};

// Frame: u64 checksum | u32 length | u8 type | u64 lsn | payload[length].
// The checksum is XXH3-64 over everything after it (length .. payload).
inline constexpr size_t kFrameHeaderSize = 8 + 4 + 1 + 8;
// A larger length can only be damage; it bounds what a reader allocates.
inline constexpr uint32_t kMaxPayloadSize = 512u << 20;

void AppendFrame(std::string* out, Lsn lsn, RecordType type, std::string_view payload);

enum class FrameStatus { kOk, kTruncated, kBadChecksum };

// Decodes the frame at the start of `data`. On kOk fills `record` (payload
// points into data) and `size` (bytes the frame occupies).
FrameStatus DecodeFrame(std::string_view data, LogRecord* record, size_t* size);

// WAL files are named by the LSN of their first record, zero-padded.
std::string FileName(Lsn first_lsn);
bool ParseFileName(std::string_view name, Lsn* first_lsn);

}  // namespace quiver::wal
