#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace quiver {
namespace {

std::array<uint8_t, 32> Digest(std::string_view secret) {
  std::array<uint8_t, 32> out;
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), out.data());
  return out;
}

constexpr size_t kMinSecretLength = 16;

}  // namespace

const char* AccessName(Access access) {
  switch (access) {
    case Access::kPublic:
      return "public";
    case Access::kAnyKey:
      return "any key";
    case Access::kRead:
      return "read";
    case Access::kWrite:
      return "write";
    case Access::kAdmin:
      return "admin";
  }
  return "?";
}

Result<KeyRing> KeyRing::FromKeys(std::vector<ApiKey> keys) {
  KeyRing ring;
  for (size_t i = 0; i < keys.size(); ++i) {
    ApiKey& key = keys[i];
    const std::string where = "API key " + std::to_string(i) + " ('" + key.name + "')";
    if (key.name.empty())
      return Status::InvalidArgument("API key " + std::to_string(i) + " has no name");
    if (key.secret.size() < kMinSecretLength) {
      return Status::InvalidArgument(where + ": the key must have at least " +
                                     std::to_string(kMinSecretLength) + " characters");
    }
    if (key.databases.empty()) return Status::InvalidArgument(where + ": no databases listed");
    for (const auto& other : ring.keys_) {
      if (other.name == key.name) return Status::InvalidArgument(where + ": the name is taken");
      if (CRYPTO_memcmp(other.digest.data(), Digest(key.secret).data(), 32) == 0)
        return Status::InvalidArgument(where + ": the same key as '" + other.name + "'");
    }
    Entry entry{key.name, Digest(key.secret), key.databases, false, key.read_only};
    entry.every_database =
        std::find(key.databases.begin(), key.databases.end(), "*") != key.databases.end();
    ring.keys_.push_back(std::move(entry));
  }
  return ring;
}

Result<KeyRing> KeyRing::Parse(std::string_view text) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || !json.contains("keys") ||
      !json["keys"].is_array()) {
    return Status::InvalidArgument("API key file: expected {\"keys\": [...]}");
  }
  std::vector<ApiKey> keys;
  for (const auto& item : json["keys"]) {
    const std::string where = "API key file: keys[" + std::to_string(keys.size()) + "]";
    if (!item.is_object()) return Status::InvalidArgument(where + " must be an object");
    for (const auto& [member, unused] : item.items()) {
      if (member != "name" && member != "key" && member != "databases" && member != "readOnly")
        return Status::InvalidArgument(where + ": unknown member '" + member + "'");
    }
    ApiKey key;
    if (!item.contains("name") || !item["name"].is_string() || !item.contains("key") ||
        !item["key"].is_string()) {
      return Status::InvalidArgument(where + " needs string members name and key");
    }
    key.name = item["name"].get<std::string>();
    key.secret = item["key"].get<std::string>();
    if (item.contains("databases")) {
      if (!item["databases"].is_array())
        return Status::InvalidArgument(where + ".databases must be an array of names");
      for (const auto& db : item["databases"]) {
        if (!db.is_string())
          return Status::InvalidArgument(where + ".databases must be an array of names");
        key.databases.push_back(db.get<std::string>());
      }
    } else {
      key.databases = {"*"};
    }
    if (item.contains("readOnly")) {
      if (!item["readOnly"].is_boolean())
        return Status::InvalidArgument(where + ".readOnly must be a boolean");
      key.read_only = item["readOnly"].get<bool>();
    }
    keys.push_back(std::move(key));
  }
  return FromKeys(std::move(keys));
}

Status KeyRing::Check(std::string_view presented, Access access, std::string_view database,
                      std::string* key_name) const {
  if (access == Access::kPublic || keys_.empty()) return Status::OK();
  if (presented.empty()) {
    return Status::Unauthenticated(
        "missing API key: send it in X-API-Key or Authorization: Bearer");
  }
  // Every key is compared, matched or not, so the time does not tell which.
  const auto digest = Digest(presented);
  const Entry* match = nullptr;
  for (const Entry& entry : keys_) {
    if (CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0) match = &entry;
  }
  if (match == nullptr) return Status::Unauthenticated("invalid API key");
  if (key_name != nullptr) *key_name = match->name;
  if (access == Access::kAnyKey) return Status::OK();
  if (access == Access::kAdmin) {
    if (!match->every_database || match->read_only) {
      return Status::PermissionDenied("API key '" + match->name +
                                      "' may not run server-wide operations");
    }
    return Status::OK();
  }
  const bool allowed = match->every_database ||
                       std::find(match->databases.begin(), match->databases.end(), database) !=
                           match->databases.end();
  if (!allowed) {
    return Status::PermissionDenied("API key '" + match->name + "' may not use database '" +
                                    std::string(database) + "'");
  }
  if (access == Access::kWrite && match->read_only) {
    return Status::PermissionDenied("API key '" + match->name + "' is read-only");
  }
  return Status::OK();
}

}  // namespace quiver
