#include "cluster/layout.h"

#include <xxhash.h>

#include <algorithm>
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

}  // namespace quiver::cluster
