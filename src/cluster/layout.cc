#include "cluster/layout.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace quiver::cluster {

std::string EncodeNode(const NodeInfo& node) {
  return nlohmann::json{{"grpc", node.grpc}, {"http", node.http}}.dump();
}

Result<NodeInfo> DecodeNode(const std::string& id, const std::string& json) {
  try {
    const auto parsed = nlohmann::json::parse(json);
    return NodeInfo{id, parsed.at("grpc").get<std::string>(), parsed.at("http").get<std::string>()};
  } catch (const std::exception& e) {
    return Status::Corruption("node '" + id +
                              "' announces itself in a form not understood: " + e.what());
  }
}

std::string EncodePlacement(const Placement& placement) {
  return nlohmann::json{{"replicas", placement.replicas}, {"shards", placement.shards}}.dump();
}

Result<Placement> DecodePlacement(const std::string& json) {
  try {
    const auto parsed = nlohmann::json::parse(json);
    Placement out;
    out.replicas = parsed.at("replicas").get<uint32_t>();
    out.shards = parsed.at("shards").get<std::vector<std::vector<std::string>>>();
    return out;
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("a placement not understood: ") + e.what());
  }
}

Placement Place(uint64_t table_id, uint32_t shards, uint32_t replicas,
                const std::vector<std::string>& nodes) {
  Placement out;
  out.replicas = replicas;
  for (uint32_t s = 0; s < shards; ++s) {
    std::vector<std::pair<uint64_t, std::string>> ranked;
    ranked.reserve(nodes.size());
    for (const std::string& node : nodes) {
      const std::string key = std::to_string(table_id) + "/" + std::to_string(s) + "/" + node;
      ranked.emplace_back(XXH3_64bits(key.data(), key.size()), node);
    }
    std::sort(ranked.begin(), ranked.end(), std::greater<>());
    std::vector<std::string> chosen;
    for (size_t i = 0; i < ranked.size() && i < replicas; ++i) chosen.push_back(ranked[i].second);
    out.shards.push_back(std::move(chosen));
  }
  return out;
}

Placement FillVacancies(uint64_t table_id, uint32_t shards, const Placement& now,
                        const std::vector<std::string>& live) {
  const size_t want = std::min<size_t>(now.replicas, live.size());
  const Placement ranked = Place(table_id, shards, static_cast<uint32_t>(live.size()), live);
  Placement next = now;
  next.shards.resize(shards);
  for (uint32_t s = 0; s < shards; ++s) {
    std::vector<std::string> kept;
    for (const auto& node : next.shards[s]) {
      if (std::find(live.begin(), live.end(), node) != live.end()) kept.push_back(node);
    }
    for (const auto& node : ranked.shards[s]) {
      if (kept.size() >= want) break;
      if (std::find(kept.begin(), kept.end(), node) == kept.end()) kept.push_back(node);
    }
    next.shards[s] = std::move(kept);
  }
  return next;
}

std::optional<uint64_t> PlacementTableId(std::string_view key) {
  const std::string_view prefix = kPlacementPrefix;
  if (!key.starts_with(prefix)) return std::nullopt;
  key.remove_prefix(prefix.size());
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
  if (ec != std::errc() || end != key.data() + key.size()) return std::nullopt;
  return id;
}

std::map<std::pair<uint64_t, uint32_t>, PlacedReplica> PlacedOn(
    const std::string& node, const CatalogState& catalog,
    const std::map<std::string, KeyValue>& placement_keys) {
  std::map<std::pair<uint64_t, uint32_t>, PlacedReplica> placed;
  for (const DatabaseEntry& db : catalog.databases) {
    for (const TableEntry& table : db.tables) {
      auto it = placement_keys.find(PlacementKey(table.id));
      if (it == placement_keys.end()) continue;
      auto placement = DecodePlacement(it->second.value);
      if (!placement.ok()) continue;
      for (uint32_t s = 0; s < placement->shards.size(); ++s) {
        const auto& nodes = placement->shards[s];
        auto here = std::find(nodes.begin(), nodes.end(), node);
        if (here == nodes.end()) continue;
        placed[{table.id, s}] = {&db, &table, static_cast<size_t>(here - nodes.begin())};
      }
    }
  }
  return placed;
}

}  // namespace quiver::cluster
