#include "cluster/s3_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <strings.h>

#include <algorithm>
#include <pugixml.hpp>
#include <random>
#include <thread>

namespace quiver {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Backoff before the Nth retry: 50 ms doubling up to 2 s, the upper half of
// it random (so clients that failed together do not retry together).
constexpr milliseconds kFirstBackoff{50};
constexpr milliseconds kMaxBackoff{2000};
// Idle handles kept for their open connections; more callers at once get
// handles of their own, closed when they are done.
constexpr size_t kMaxIdleHandles = 8;

// libcurl's global state, set up once before the first handle.
void InitCurlOnce() {
  static const CURLcode initialized = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)initialized;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

// Percent-encodes all but A-Z a-z 0-9 - _ . ~, as SigV4 wants (libcurl
// signs the URL as given: it neither encodes nor sorts the query).
std::string Escape(std::string_view text) {
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (escaped == nullptr) return {};
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

// Each '/'-separated part encoded, the slashes kept.
std::string EscapePath(std::string_view path) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    out += Escape(path.substr(start, slash - start));
    if (slash == std::string_view::npos) return out;
    out += '/';
    start = slash + 1;
  }
}

bool IsRetryableStatus(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

// Failures of the connection, not of the request: the next attempt may work.
bool IsRetryableCurlError(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

// An endpoint that cannot work, whatever the attempt.
bool IsEndpointError(CURLcode code) {
  return code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL ||
         code == CURLE_COULDNT_RESOLVE_HOST;
}

milliseconds Backoff(int retry) {
  thread_local std::minstd_rand random(std::random_device{}());
  const milliseconds ceiling = std::min(kMaxBackoff, kFirstBackoff * (1 << std::min(retry, 10)));
  std::uniform_int_distribution<int64_t> half(0, ceiling.count() / 2);
  return ceiling / 2 + milliseconds(half(random));
}

size_t AppendBody(char* data, size_t size, size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

// Keeps the ETag header (of the last response, after a 100 Continue).
size_t ReadHeader(char* data, size_t size, size_t count, void* etag) {
  std::string_view line(data, size * count);
  constexpr std::string_view kName = "etag:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    line.remove_prefix(kName.size());
    const size_t first = line.find_first_not_of(" \t");
    const size_t last = line.find_last_not_of(" \t\r\n");
    *static_cast<std::string*>(etag) =
        first == std::string_view::npos ? "" : std::string(line.substr(first, last - first + 1));
  }
  return size * count;
}

// S3's <Error><Code/><Message/></Error>, when the body has one.
std::pair<std::string, std::string> ErrorCodeAndMessage(const std::string& body) {
  pugi::xml_document doc;
  if (body.empty() || !doc.load_buffer(body.data(), body.size())) return {};
  const pugi::xml_node error = doc.child("Error");
  return {error.child_value("Code"), error.child_value("Message")};
}

}  // namespace

struct S3Client::Handle {
  Handle() : curl(curl_easy_init()) {}
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  CURL* const curl;
};

struct S3Client::Attempt {
  CURLcode code = CURLE_OK;
  std::string error;  // what libcurl said, when code is not CURLE_OK
  S3Response response;
};

S3Client::S3Client(S3Options options)
    : options_(std::move(options)), sigv4_("aws:amz:" + options_.region + ":s3") {
  InitCurlOnce();
}

S3Client::~S3Client() = default;

std::unique_ptr<S3Client::Handle> S3Client::Acquire() {
  {
    MutexLock lock(&mu_);
    if (!idle_.empty()) {
      auto handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  return std::make_unique<Handle>();
}

void S3Client::Release(std::unique_ptr<Handle> handle) {
  MutexLock lock(&mu_);
  if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(handle));
}

std::string S3Client::Url(const S3Request& request) const {
  std::string url = options_.endpoint;
  while (url.ends_with('/')) url.pop_back();
  url += "/" + Escape(options_.bucket);
  if (!request.key.empty()) url += "/" + EscapePath(request.key);
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [name, value] : request.query) query.emplace_back(Escape(name), Escape(value));
  std::sort(query.begin(), query.end());
  for (size_t i = 0; i < query.size(); ++i) {
    url += (i == 0 ? "?" : "&") + query[i].first + "=" + query[i].second;
  }
  return url;
}

Result<S3Response> S3Client::Send(const S3Request& request, S3Deadline deadline) {
  const auto start = Clock::now();
  std::string failure;  // of the last attempt that got no answer
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<Handle> handle = Acquire();
    if (handle->curl == nullptr) return Status::Internal("libcurl cannot create a handle");
    Attempt sent = SendOnce(*handle, request, deadline);
    Release(std::move(handle));
    sent.response.attempts = attempt;
    if (sent.code == CURLE_OK && !IsRetryableStatus(sent.response.status)) {
      return std::move(sent.response);
    }
    if (sent.code != CURLE_OK) {
      failure = curl_easy_strerror(sent.code) + (sent.error.empty() ? "" : " (" + sent.error + ")");
      if (IsEndpointError(sent.code)) {
        return Status::InvalidArgument("S3 " + request.method + " " + Url(request) + ": " +
                                       failure + " (check the endpoint)");
      }
      if (!IsRetryableCurlError(sent.code)) {
        return Status::Unavailable("S3 " + request.method + " " + Url(request) + ": " + failure);
      }
    }
    const milliseconds pause = Backoff(attempt);
    if (attempt >= options_.max_attempts || Clock::now() + pause >= deadline) {
      if (sent.code == CURLE_OK) return std::move(sent.response);  // a 5xx or 429, for S3Error
      const auto spent = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
      return Status::Unavailable("S3 " + request.method + " " + Url(request) + ": " + failure +
                                 "; gave up after " + std::to_string(attempt) + " attempts in " +
                                 std::to_string(spent.count()) + " ms");
    }
    std::this_thread::sleep_for(pause);
  }
}

S3Client::Attempt S3Client::SendOnce(Handle& handle, const S3Request& request,
                                     S3Deadline deadline) {
  Attempt attempt;
  CURL* curl = handle.curl;
  curl_easy_reset(curl);  // keeps the open connections
  const std::string url = Url(request);
  const long timeout_ms =
      std::max<long>(1, std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count());
  // SigV4 for S3 signs the payload's hash, which the request must carry.
  // (No "Expect:" to suppress 100-continue: libcurl 7.88 would sign the
  // header it then leaves out, and every large PUT would be refused.)
  curl_slist* headers = nullptr;
  headers =
      curl_slist_append(headers, ("x-amz-content-sha256: " + Sha256Hex(request.body)).c_str());
  if (!request.range.empty()) {
    headers = curl_slist_append(headers, ("Range: " + request.range).c_str());
  }
  const bool has_body = request.method == "PUT" || request.method == "POST";
  if (has_body) headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM in a threaded process
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, options_.access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.secret_key.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &attempt.response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &attempt.response.etag);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (has_body) {
    // The body as "post fields" (sent with its Content-Length, as S3
    // wants), so libcurl hashes the same bytes for the signature.
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  attempt.code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (attempt.code != CURLE_OK) {
    attempt.error = error;
    return attempt;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &attempt.response.status);
  curl_off_t length = -1;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  attempt.response.content_length = length;
  return attempt;
}

std::string S3ErrorCode(const S3Response& response) {
  return ErrorCodeAndMessage(response.body).first;
}

Status S3Error(const S3Response& response, std::string_view operation, std::string_view key,
               const S3Options& options) {
  const auto [code, message] = ErrorCodeAndMessage(response.body);
  const std::string what = "S3 " + std::string(operation) +
                           (key.empty() ? "" : " of object '" + std::string(key) + "'") +
                           " in bucket '" + options.bucket + "'";
  const std::string answer = std::to_string(response.status) + (code.empty() ? "" : " " + code) +
                             (message.empty() ? "" : ": " + message);
  const long status = response.status;
  if (status == 403) {
    return Status::PermissionDenied(what + " refused: " + answer +
                                    " (check the access and secret keys, and the bucket's owner)");
  }
  if (status == 404) {
    if (code == "NoSuchBucket") {
      return Status::NotFound("bucket '" + options.bucket + "' does not exist (" + what + ": " +
                              answer + ")");
    }
    if (!key.empty()) return ObjectNotFound(key);
    return Status::NotFound(what + ": " + answer);
  }
  if (IsRetryableStatus(status)) {
    return Status::Unavailable(what + ": " + answer + " after " +
                               std::to_string(response.attempts) + " attempts");
  }
  if (status == 409) {
    return code == "BucketAlreadyExists" ? Status::AlreadyExists(what + ": " + answer)
                                         : Status::Conflict(what + ": " + answer);
  }
  if (status >= 400 && status < 500) return Status::InvalidArgument(what + ": " + answer);
  return Status::Internal(what + ": unexpected answer " + answer);
}

}  // namespace quiver
