#pragma once

// Signed HTTP requests to an S3-compatible service, with retries: what the
// S3 ObjectStore (s3_object_store.cc) is built on. Internal to cluster/.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/s3_object_store.h"
#include "common/mutex.h"
#include "common/status.h"

namespace quiver {

using S3Deadline = std::chrono::steady_clock::time_point;

struct S3Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string key;             // under the bucket, prefix included; empty: the bucket
  std::vector<std::pair<std::string, std::string>> query;  // any order: sent sorted
  std::string_view body;                                   // PUT and POST; must outlive the call
  std::string range;  // a Range header's value ("bytes=0-99"), or empty
};

struct S3Response {
  long status = 0;  // HTTP status
  std::string body;
  std::string etag;             // the ETag header, quotes included
  int64_t content_length = -1;  // the Content-Length header; -1 when absent
  int attempts = 0;             // how many times the request was sent
};

// Sends requests signed with SigV4 (CURLOPT_AWS_SIGV4) over a small pool of
// libcurl handles, which keeps connections open between calls. Thread-safe.
class S3Client {
 public:
  explicit S3Client(S3Options options);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const S3Options& options() const { return options_; }
  S3Deadline NewDeadline() const { return std::chrono::steady_clock::now() + options_.deadline; }

  // The answer to `request`, whatever its HTTP status, once it is not one to
  // retry or the attempts or the deadline ran out (then the last answer).
  // kUnavailable when no answer came: the endpoint refused or timed out.
  Result<S3Response> Send(const S3Request& request, S3Deadline deadline);

 private:
  struct Handle;
  struct Attempt;

  Attempt SendOnce(Handle& handle, const S3Request& request, S3Deadline deadline);
  std::string Url(const S3Request& request) const;
  std::unique_ptr<Handle> Acquire() EXCLUDES(mu_);
  void Release(std::unique_ptr<Handle> handle) EXCLUDES(mu_);

  const S3Options options_;
  const std::string sigv4_;  // "aws:amz:<region>:s3"
  Mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_ GUARDED_BY(mu_);  // connections to reuse
};

// S3's error code in the answer's body ("NoSuchKey", "SlowDown"), or empty.
std::string S3ErrorCode(const S3Response& response);

// The Status for an answer that is not a success: 403 kPermissionDenied,
// 404 kNotFound (the object `key`, or the bucket when S3 says NoSuchBucket),
// 429 and 5xx kUnavailable, other 4xx kInvalidArgument (409 kAlreadyExists
// or kConflict), anything else kInternal. The message names the operation,
// the key or bucket, the HTTP status and S3's error code and message.
Status S3Error(const S3Response& response, std::string_view operation, std::string_view key,
               const S3Options& options);

}  // namespace quiver
