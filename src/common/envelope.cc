#include "common/envelope.h"

#include "common/checksum.h"
#include "common/coding.h"

namespace quiver {
namespace {

constexpr size_t kHeaderSize = 8 + 4 + 8 + 8;

}  // namespace

std::string SealEnvelope(std::string_view magic, uint32_t version, std::string_view payload) {
  std::string out;
  ByteWriter w(&out);
  w.Raw(magic.data(), magic.size());
  w.U32(version);
  w.U64(payload.size());
  w.U64(Checksum64(payload));
  out.append(payload);
  return out;
}

Result<std::string_view> OpenEnvelope(std::string_view data, std::string_view magic,
                                      uint32_t max_version, std::string_view what,
                                      uint32_t* version) {
  const std::string name(what);
  if (data.size() < kHeaderSize || data.substr(0, magic.size()) != magic) {
    return Status::Corruption(name + ": bad header at offset 0");
  }
  ByteReader header(data.substr(magic.size(), kHeaderSize - magic.size()));
  uint32_t found_version;
  uint64_t length, sum;
  QV_RETURN_IF_ERROR(header.U32(&found_version));
  QV_RETURN_IF_ERROR(header.U64(&length));
  QV_RETURN_IF_ERROR(header.U64(&sum));
  if (found_version == 0 || found_version > max_version) {
    return Status::Corruption(name + ": unsupported version " + std::to_string(found_version));
  }
  if (data.size() - kHeaderSize != length) return Status::Corruption(name + ": length mismatch");
  const std::string_view payload = data.substr(kHeaderSize);
  if (Checksum64(payload) != sum) return Status::Corruption(name + ": checksum mismatch");
  if (version != nullptr) *version = found_version;
  return payload;
}

}  // namespace quiver
