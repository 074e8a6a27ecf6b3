#pragma once

// API keys: who may call which route on which database. Keys come from a
// JSON file (docs/API.md, "Authentication"); requests carry one in
// `X-API-Key` (Epsilla's header) or `Authorization: Bearer <key>`. Secrets
// are kept only as SHA-256 digests, compared in constant time, and never
// logged.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace quiver {

struct ApiKey {
  std::string name;                    // shown in logs and errors, never the secret
  std::string secret;                  // at least 16 characters
  std::vector<std::string> databases;  // "*" for every database
  bool read_only = false;
};

// What a route needs.
enum class Access {
  kPublic,  // liveness and readiness probes: no key
  kAnyKey,  // any valid key (metrics, server-wide reads)
  kRead,    // a key allowed on the route's database
  kWrite,   // a key allowed on the route's database and not read-only
  kAdmin,   // a key allowed on every database and not read-only (rebuild)
};

const char* AccessName(Access access);

class KeyRing {
 public:
  KeyRing() = default;
  static Result<KeyRing> FromKeys(std::vector<ApiKey> keys);
  // {"keys": [{"name": "...", "key": "...", "databases": ["*"], "readOnly": false}]}
  static Result<KeyRing> Parse(std::string_view json);

  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }

  // OK when the presented credential (the header value as sent: the key,
  // or "Bearer <key>" for Authorization) may use `access` on `database`
  // (empty: the route names none). Unauthenticated (401) without a valid
  // key, PermissionDenied (403) when the key does not allow it. `key_name`
  // receives the matching key's name.
  Status Check(std::string_view presented, Access access, std::string_view database,
               std::string* key_name = nullptr) const;

 private:
  struct Entry {
    std::string name;
    std::array<uint8_t, 32> digest;
    std::vector<std::string> databases;
    bool every_database = false;
    bool read_only = false;
  };
  std::vector<Entry> keys_;
};

}  // namespace quiver
