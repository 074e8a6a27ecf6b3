#pragma once

// Little-endian binary encoding shared by the WAL and the catalog. The Writer
// appends to a string; the Reader consumes a byte span and reports running
// past its end as a Corruption, never as undefined behaviour.

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace quiver {

class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}

  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Raw(&v, sizeof v); }
  void U64(uint64_t v) { Raw(&v, sizeof v); }
  void F64(double v) { Raw(&v, sizeof v); }
  void Varint(uint64_t v);
  void String(std::string_view s) {
    Varint(s.size());
    out_->append(s.data(), s.size());
  }
  void Raw(const void* data, size_t n) { out_->append(static_cast<const char*>(data), n); }

 private:
  static_assert(std::endian::native == std::endian::little, "Quiver formats are little-endian");
  std::string* out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  Status U8(uint8_t* v) { return Raw(v, sizeof *v); }
  Status U32(uint32_t* v) { return Raw(v, sizeof *v); }
  Status U64(uint64_t* v) { return Raw(v, sizeof *v); }
  Status F64(double* v) { return Raw(v, sizeof *v); }
  Status Varint(uint64_t* v);
  Status String(std::string* s);
  Status Raw(void* dst, size_t n);
  // A view of the next n bytes, consumed.
  Status View(size_t n, std::string_view* out);

  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace quiver
