#pragma once

#include <cstdint>
#include <vector>

#include "common/coding.h"
#include "common/status.h"
#include "schema/types.h"

namespace quiver {

// A table's rows are spread over its shards by hash slot: a key's slot is a
// hash of the key (docs/FORMATS.md, "Hash slots") modulo kHashSlots, and the
// slot map says which shard owns each slot. The slot count never changes,
// so adding shards moves whole slots (issue 14); the map's version grows
// with every change.
inline constexpr uint32_t kHashSlots = 1024;
// The most shards one table may have.
inline constexpr uint32_t kMaxShards = 256;

// XXH3-64 of the key's bytes (an integer as 8 little-endian bytes, a string
// as its UTF-8 bytes), modulo kHashSlots.
uint32_t HashSlot(const PrimaryKey& key);

struct SlotMap {
  uint64_t version = 1;
  std::vector<uint32_t> owner = std::vector<uint32_t>(kHashSlots, 0);  // shard of each slot

  // `shards` shards, each owning one contiguous run of slots (sizes differ by
  // at most one).
  static SlotMap Even(uint32_t shards);
  // The number of shards: one more than the highest owner.
  uint32_t shards() const;
  uint32_t ShardOf(const PrimaryKey& key) const { return owner[HashSlot(key)]; }

  bool operator==(const SlotMap&) const = default;
};

// As runs of slots with one owner (docs/FORMATS.md, "Catalog").
void EncodeSlotMap(ByteWriter* w, const SlotMap& map);
Status DecodeSlotMap(ByteReader* r, SlotMap* map);

}  // namespace quiver
