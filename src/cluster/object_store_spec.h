#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "io/file_system.h"
#include "io/object_store.h"

namespace quiver::cluster {

// Opens the object store named as in NodeOptions::object_store: "dir:PATH"
// or "s3:http://HOST:PORT/BUCKET" (keys from QUIVER_S3_ACCESS_KEY /
// QUIVER_S3_SECRET_KEY).
Result<std::unique_ptr<ObjectStore>> OpenObjectStore(FileSystem* fs, const std::string& spec);

// Deletes every object whose key starts with `prefix`; the first error,
// after trying them all.
Status DeletePrefix(ObjectStore* store, const std::string& prefix);

}  // namespace quiver::cluster
