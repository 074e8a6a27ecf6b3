#include "catalog/slot_map.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace quiver {

uint32_t HashSlot(const PrimaryKey& key) {
  uint64_t hash;
  if (const auto* i = std::get_if<int64_t>(&key)) {
    unsigned char bytes[8];
    const uint64_t v = static_cast<uint64_t>(*i);
    for (int b = 0; b < 8; ++b) bytes[b] = static_cast<unsigned char>(v >> (8 * b));
    hash = XXH3_64bits(bytes, sizeof bytes);
  } else {
    const std::string& s = std::get<std::string>(key);
    hash = XXH3_64bits(s.data(), s.size());
  }
  return static_cast<uint32_t>(hash % kHashSlots);
}

SlotMap SlotMap::Even(uint32_t shards) {
  SlotMap map;
  shards = std::max<uint32_t>(shards, 1);
  for (uint32_t slot = 0; slot < kHashSlots; ++slot) {
    map.owner[slot] = static_cast<uint32_t>(uint64_t{slot} * shards / kHashSlots);
  }
  return map;
}

uint32_t SlotMap::shards() const {
  return owner.empty() ? 0 : *std::max_element(owner.begin(), owner.end()) + 1;
}

void EncodeSlotMap(ByteWriter* w, const SlotMap& map) {
  w->U64(map.version);
  std::vector<std::pair<uint32_t, uint32_t>> runs;  // (length, owner)
  for (uint32_t owner : map.owner) {
    if (!runs.empty() && runs.back().second == owner) {
      ++runs.back().first;
    } else {
      runs.emplace_back(1, owner);
    }
  }
  w->Varint(runs.size());
  for (const auto& [length, owner] : runs) {
    w->Varint(length);
    w->Varint(owner);
  }
}

Status DecodeSlotMap(ByteReader* r, SlotMap* map) {
  uint64_t runs;
  QV_RETURN_IF_ERROR(r->U64(&map->version));
  QV_RETURN_IF_ERROR(r->Varint(&runs));
  if (runs == 0 || runs > kHashSlots) return Status::Corruption("slot map has a bad run count");
  map->owner.clear();
  for (uint64_t i = 0; i < runs; ++i) {
    uint64_t length, owner;
    QV_RETURN_IF_ERROR(r->Varint(&length));
    QV_RETURN_IF_ERROR(r->Varint(&owner));
    if (length == 0 || length > kHashSlots - map->owner.size() || owner >= kMaxShards)
      return Status::Corruption("slot map has a bad run");
    map->owner.insert(map->owner.end(), length, static_cast<uint32_t>(owner));
  }
  if (map->owner.size() != kHashSlots)
    return Status::Corruption("slot map does not cover every slot");
  // Every shard below the highest owns a slot.
  std::vector<bool> seen(map->shards(), false);
  for (uint32_t owner : map->owner) seen[owner] = true;
  if (std::find(seen.begin(), seen.end(), false) != seen.end())
    return Status::Corruption("slot map has a shard without slots");
  return Status::OK();
}

}  // namespace quiver
