#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "io/object_store.h"

namespace quiver {

struct S3Options {
  std::string endpoint;  // http://127.0.0.1:PORT (path-style URLs: endpoint/bucket/key)
  std::string bucket;
  std::string region = "us-east-1";
  std::string access_key, secret_key;
  // Every key lives under this prefix (the object of key K is prefix + K), so
  // several stores (tables, tests, clusters) share one bucket.
  std::string prefix;
  // A Put of more bytes is a multipart upload of part_size parts. S3 refuses
  // parts under 5 MiB (except the last), so part_size must be at least that.
  uint64_t multipart_threshold = 16ull << 20;
  uint64_t part_size = 8ull << 20;
  int list_page_size = 1000;  // max-keys of each ListObjectsV2 page (S3's own limit)
  // Of each call of the port, retries and every part of an upload included.
  std::chrono::milliseconds deadline{30000};
  // Of each request: connection errors, timeouts, 429 and 500/502/503/504
  // are retried with exponential backoff and jitter; other answers are not.
  int max_attempts = 5;
};

// The ObjectStore port over an S3-compatible service (AWS S3, Ceph RGW,
// MinIO), through libcurl with SigV4 signing. Put is one PUT up to
// multipart_threshold, else a multipart upload (aborted when it fails, so
// the old object stays); S3 replaces an object atomically either way.
// GetRange is a ranged GET, Size a HEAD, List pages through ListObjectsV2.
// Keys are validated before any request.
// Errors: 403 is kPermissionDenied (wrong keys, or keys without the right),
// with S3's error code; a missing object kNotFound; a missing bucket
// kNotFound naming it; 5xx and 429 after the last attempt, timeouts and an
// unreachable endpoint kUnavailable. Thread-safe.
std::unique_ptr<ObjectStore> NewS3ObjectStore(S3Options options);

// Creates options.bucket. A bucket this account already owns is fine; one
// owned by another account is kAlreadyExists.
Status CreateBucket(const S3Options& options);

}  // namespace quiver
