#pragma once

// The index file's byte layout (docs/FORMATS.md, "Index files"): a 512-byte
// header (magic, version, type, rows, dims, metric, graph entry, segment id
// and LSN range, up to 8 sections, both checksums), then 64-byte aligned
// sections. Shared by the builder, the opener and `quiver inspect index`.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/checksum.h"
#include "common/coding.h"
#include "common/status.h"
#include "schema/schema.h"

namespace quiver::index {

inline constexpr std::string_view kMagic{"QVIDX\x00\x00\x01", 8};
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kHeaderSize = 512;
inline constexpr size_t kMaxSections = 8;
inline constexpr size_t kAlignment = 64;

enum SectionKind : uint32_t {
  kLevels = 1,        // u8 per row
  kLevel0 = 2,        // u32: per row a count and 2M slots
  kUpper = 3,         // u32: per row above level 0, per level a count and M slots
  kInverseNorms = 4,  // f32 per row (COSINE): 1 / |row|, 0 for a zero row
  kSq8Min = 5,        // f32 per dimension
  kSq8Step = 6,       // f32 per dimension
  kSq8Codes = 7,      // u8 per row and dimension
  kFaiss = 8,         // a Faiss index (IVF_FLAT) in Faiss's own serialisation
};

struct Section {
  uint32_t kind = 0;
  uint64_t offset = 0, length = 0;
};

struct FileHeader {
  IndexType type = IndexType::kHnsw;
  uint64_t rows = 0;
  uint32_t dims = 0;
  Metric metric = Metric::kEuclidean;
  uint32_t m = 0, entry = 0;
  int32_t max_level = -1;
  uint64_t segment_id = 0, min_lsn = 0, max_lsn = 0;
};

class FileWriter {
 public:
  explicit FileWriter(const FileHeader& header) : header_(header) {}

  template <typename T>
  void Add(uint32_t kind, std::span<const T> data) {
    body_.resize((body_.size() + kAlignment - 1) / kAlignment * kAlignment, '\0');
    sections_.push_back({kind, kHeaderSize + body_.size(), data.size_bytes()});
    body_.append(reinterpret_cast<const char*>(data.data()), data.size_bytes());
  }

  std::string Finish() {
    std::string out;
    ByteWriter w(&out);
    w.Raw(kMagic.data(), kMagic.size());
    w.U32(kVersion);
    w.U32(static_cast<uint32_t>(header_.type));
    w.U64(header_.rows);
    w.U32(header_.dims);
    w.U32(static_cast<uint32_t>(header_.metric));
    w.U32(header_.m);
    w.U32(header_.entry);
    w.U32(static_cast<uint32_t>(header_.max_level));
    w.U32(static_cast<uint32_t>(sections_.size()));
    w.U64(header_.segment_id);
    w.U64(header_.min_lsn);
    w.U64(header_.max_lsn);
    for (size_t i = 0; i < kMaxSections; ++i) {
      const Section s = i < sections_.size() ? sections_[i] : Section{};
      w.U32(s.kind);
      w.U32(0);
      w.U64(s.offset);
      w.U64(s.length);
    }
    out.resize(kHeaderSize - 16, '\0');  // reserved, zero
    w.U64(Checksum64(body_));
    w.U64(Checksum64(out));
    out += body_;
    return out;
  }

 private:
  FileHeader header_;
  std::vector<Section> sections_;
  std::string body_;
};

class FileReader {
 public:
  // Checks the header (magic, version, both checksums, section bounds and
  // alignment) of `file`; kCorruption naming `path` and the offset.
  static Result<FileReader> Open(std::string_view file, const std::string& path);

  const FileHeader& header() const { return header_; }
  const std::vector<Section>& sections() const { return sections_; }

  // The section of `kind` holding exactly `count` items (count 0: any).
  template <typename T>
  Result<std::span<const T>> Get(uint32_t kind, size_t count, const std::string& path) const {
    for (const Section& s : sections_) {
      if (s.kind != kind) continue;
      if (s.length % sizeof(T) != 0 || (count != 0 && s.length != count * sizeof(T))) {
        return Status::Corruption("index " + path + ": section " + std::to_string(kind) +
                                  " has the wrong size at offset " + std::to_string(s.offset));
      }
      return std::span<const T>(reinterpret_cast<const T*>(file_.data() + s.offset),
                                s.length / sizeof(T));
    }
    return Status::Corruption("index " + path + ": section " + std::to_string(kind) +
                              " is missing");
  }

 private:
  std::string_view file_;
  FileHeader header_;
  std::vector<Section> sections_;
};

}  // namespace quiver::index
