#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "io/file_system.h"

namespace quiver {

// The MetaStore port: small named blobs replaced atomically. Standalone it
// is a directory of files; in a cluster, etcd. Keys are internal constants
// ([a-z_]+), never user input. Thread-safe.
class MetaStore {
 public:
  virtual ~MetaStore() = default;
  // nullopt when the key was never written.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // After OK the new value survives any crash; after a crash either value may be seen.
  virtual Status Put(std::string_view key, std::string_view value) = 0;
};

// Keeps each key in `dir`/<key> through FileSystem::WriteFileAtomic.
std::unique_ptr<MetaStore> NewLocalMetaStore(FileSystem* fs, std::string dir);

}  // namespace quiver
