#include "cluster/object_store_spec.h"

#include <cstdlib>

#include "cluster/s3_object_store.h"

namespace quiver::cluster {

Result<std::unique_ptr<ObjectStore>> OpenObjectStore(FileSystem* fs, const std::string& spec) {
  if (spec.starts_with("dir:")) {
    const std::string root = spec.substr(4);
    if (root.empty()) return Status::InvalidArgument("--object-store dir: needs a directory");
    QV_RETURN_IF_ERROR(fs->CreateDirs(root));
    return NewLocalObjectStore(fs, root);
  }
  if (spec.starts_with("s3:")) {
    const std::string url = spec.substr(3);
    const size_t scheme = url.find("://");
    const size_t slash =
        scheme == std::string::npos ? std::string::npos : url.find('/', scheme + 3);
    if (slash == std::string::npos || slash + 1 >= url.size()) {
      return Status::InvalidArgument("--object-store s3:http://HOST:PORT/BUCKET, not '" + spec +
                                     "'");
    }
    S3Options options;
    options.endpoint = url.substr(0, slash);
    options.bucket = url.substr(slash + 1);
    const char* access = std::getenv("QUIVER_S3_ACCESS_KEY");
    const char* secret = std::getenv("QUIVER_S3_SECRET_KEY");
    if (access == nullptr || secret == nullptr) {
      return Status::InvalidArgument(
          "an S3 object store needs QUIVER_S3_ACCESS_KEY and QUIVER_S3_SECRET_KEY in the "
          "environment");
    }
    options.access_key = access;
    options.secret_key = secret;
    return NewS3ObjectStore(std::move(options));
  }
  return Status::InvalidArgument("--object-store is dir:PATH or s3:http://HOST:PORT/BUCKET, not '" +
                                 spec + "'");
}

Status DeletePrefix(ObjectStore* store, const std::string& prefix) {
  QV_ASSIGN_OR_RETURN(auto keys, store->List(prefix));
  Status first;
  for (const std::string& key : keys) {
    if (Status gone = store->Delete(key); !gone.ok() && first.ok()) first = gone;
  }
  return first;
}

}  // namespace quiver::cluster
