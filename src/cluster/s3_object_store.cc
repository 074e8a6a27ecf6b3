#include "cluster/s3_object_store.h"

#include <algorithm>
#include <limits>
#include <pugixml.hpp>

#include "cluster/s3_client.h"

namespace quiver {
namespace {

// S3 numbers parts 1 to 10000.
constexpr uint64_t kMaxParts = 10000;
// A failed upload is aborted with time of its own (the call's deadline may
// be what failed), bounded so a dead endpoint does not hold the caller long.
constexpr std::chrono::milliseconds kAbortDeadline{5000};

// Collects what pugixml writes.
class StringWriter final : public pugi::xml_writer {
 public:
  void write(const void* data, size_t size) override {
    text.append(static_cast<const char*>(data), size);
  }
  std::string text;
};

// The CompleteMultipartUpload body: each part's number and ETag, in order.
std::string CompletionXml(const std::vector<std::string>& etags) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CompleteMultipartUpload");
  for (size_t i = 0; i < etags.size(); ++i) {
    pugi::xml_node part = root.append_child("Part");
    part.append_child("PartNumber").text().set(static_cast<unsigned>(i + 1));
    part.append_child("ETag").text().set(etags[i].c_str());
  }
  StringWriter writer;
  doc.save(writer, "", pugi::format_raw);
  return std::move(writer.text);
}

class S3ObjectStore final : public ObjectStore {
 public:
  explicit S3ObjectStore(S3Options options) : client_(std::move(options)) {}

  Status Put(std::string_view key, std::string_view data) override {
    QV_RETURN_IF_ERROR(ValidateObjectKey(key));
    const S3Deadline deadline = client_.NewDeadline();
    if (data.size() > options().multipart_threshold) return PutInParts(key, data, deadline);
    QV_ASSIGN_OR_RETURN(
        S3Response response,
        client_.Send({.method = "PUT", .key = FullKey(key), .body = data}, deadline));
    return Expect(response, 200, "PUT", key);
  }

  Result<std::string> Get(std::string_view key) override {
    QV_RETURN_IF_ERROR(ValidateObjectKey(key));
    QV_ASSIGN_OR_RETURN(S3Response response,
                        client_.Send({.key = FullKey(key)}, client_.NewDeadline()));
    QV_RETURN_IF_ERROR(Expect(response, 200, "GET", key));
    return std::move(response.body);
  }

  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override {
    QV_RETURN_IF_ERROR(ValidateObjectKey(key));
    const S3Deadline deadline = client_.NewDeadline();
    // No bytes asked for: no Range header can say so, the size answers.
    if (length == 0) return EmptyRange(key, offset, deadline);
    const uint64_t last =
        offset + std::min(length - 1, std::numeric_limits<uint64_t>::max() - offset);
    const std::string range = "bytes=" + std::to_string(offset) + "-" + std::to_string(last);
    QV_ASSIGN_OR_RETURN(S3Response response,
                        client_.Send({.key = FullKey(key), .range = range}, deadline));
    if (response.status == 206) return std::move(response.body);
    if (response.status == 200) {  // a server that ignores Range sends it all
      if (offset > response.body.size()) {
        return ObjectRangePastEnd(key, offset, response.body.size());
      }
      return response.body.substr(offset, length);
    }
    // 416: no byte at offset (at the end, or past it: the size tells which).
    if (response.status == 416) return EmptyRange(key, offset, deadline);
    return S3Error(response, "ranged GET", key, options());
  }

  Result<uint64_t> Size(std::string_view key) override {
    QV_RETURN_IF_ERROR(ValidateObjectKey(key));
    return SizeBefore(key, client_.NewDeadline());
  }

  Status Delete(std::string_view key) override {
    QV_RETURN_IF_ERROR(ValidateObjectKey(key));
    QV_ASSIGN_OR_RETURN(S3Response response, client_.Send({.method = "DELETE", .key = FullKey(key)},
                                                          client_.NewDeadline()));
    if (response.status == 204 || response.status == 200) return Status::OK();
    // An absent object is deleted already; an absent bucket is an error.
    if (response.status == 404 && S3ErrorCode(response) != "NoSuchBucket") return Status::OK();
    return S3Error(response, "DELETE", key, options());
  }

  Result<std::vector<std::string>> List(std::string_view prefix) override {
    const S3Deadline deadline = client_.NewDeadline();
    std::vector<std::string> keys;
    std::string token;  // of the next page
    do {
      S3Request request{.query = {{"list-type", "2"},
                                  {"max-keys", std::to_string(options().list_page_size)},
                                  {"prefix", FullKey(prefix)}}};
      if (!token.empty()) request.query.emplace_back("continuation-token", token);
      QV_ASSIGN_OR_RETURN(S3Response response, client_.Send(request, deadline));
      QV_RETURN_IF_ERROR(Expect(response, 200, "LIST", ""));
      QV_ASSIGN_OR_RETURN(token, ReadListPage(response.body, keys));
    } while (!token.empty());
    std::sort(keys.begin(), keys.end());  // S3 lists in UTF-8 order already; the port promises it
    return keys;
  }

 private:
  const S3Options& options() const { return client_.options(); }
  std::string FullKey(std::string_view key) const { return options().prefix + std::string(key); }

  Status Expect(const S3Response& response, long status, std::string_view operation,
                std::string_view key) const {
    if (response.status == status) return Status::OK();
    return S3Error(response, operation, key, options());
  }

  Result<uint64_t> SizeBefore(std::string_view key, S3Deadline deadline) {
    QV_ASSIGN_OR_RETURN(S3Response response,
                        client_.Send({.method = "HEAD", .key = FullKey(key)}, deadline));
    QV_RETURN_IF_ERROR(Expect(response, 200, "HEAD", key));
    if (response.content_length < 0) {
      return Status::Internal("S3 HEAD of object '" + std::string(key) +
                              "' answered without a Content-Length");
    }
    return static_cast<uint64_t>(response.content_length);
  }

  Result<std::string> EmptyRange(std::string_view key, uint64_t offset, S3Deadline deadline) {
    QV_ASSIGN_OR_RETURN(uint64_t size, SizeBefore(key, deadline));
    if (offset > size) return ObjectRangePastEnd(key, offset, size);
    return std::string();
  }

  // Appends the keys of a ListObjectsV2 page, without the store's prefix;
  // returns the next page's token, empty after the last page.
  Result<std::string> ReadListPage(const std::string& body, std::vector<std::string>& keys) const {
    pugi::xml_document doc;
    const pugi::xml_node page = doc.load_buffer(body.data(), body.size())
                                    ? doc.child("ListBucketResult")
                                    : pugi::xml_node();
    if (!page) {
      return Status::Corruption("S3 LIST of bucket '" + options().bucket +
                                "' answered something other than a ListBucketResult");
    }
    for (const pugi::xml_node contents : page.children("Contents")) {
      const std::string_view key = contents.child_value("Key");
      if (key.starts_with(options().prefix)) keys.emplace_back(key.substr(options().prefix.size()));
    }
    if (std::string_view(page.child_value("IsTruncated")) != "true") return std::string();
    std::string next = page.child_value("NextContinuationToken");
    if (next.empty()) {
      return Status::Corruption("S3 LIST of bucket '" + options().bucket +
                                "' is truncated but has no NextContinuationToken");
    }
    return next;
  }

  // CreateMultipartUpload, UploadPart for each part, CompleteMultipartUpload;
  // until the completion the old object (if any) is what readers see.
  Status PutInParts(std::string_view key, std::string_view data, S3Deadline deadline) {
    const uint64_t part_size = std::max<uint64_t>(options().part_size, 1);
    if ((data.size() + part_size - 1) / part_size > kMaxParts) {
      return Status::InvalidArgument("object '" + std::string(key) + "' of " +
                                     std::to_string(data.size()) + " bytes needs more than " +
                                     std::to_string(kMaxParts) + " parts of " +
                                     std::to_string(part_size) + " bytes: raise part_size");
    }
    QV_ASSIGN_OR_RETURN(
        S3Response started,
        client_.Send({.method = "POST", .key = FullKey(key), .query = {{"uploads", ""}}},
                     deadline));
    QV_RETURN_IF_ERROR(Expect(started, 200, "multipart start", key));
    pugi::xml_document doc;
    doc.load_buffer(started.body.data(), started.body.size());
    const std::string upload_id =
        doc.child("InitiateMultipartUploadResult").child_value("UploadId");
    if (upload_id.empty()) {
      return Status::Corruption("S3 multipart start of object '" + std::string(key) +
                                "' answered without an UploadId");
    }
    Status uploaded = UploadParts(key, upload_id, data, part_size, deadline);
    if (!uploaded.ok()) Abort(key, upload_id);
    return uploaded;
  }

  Status UploadParts(std::string_view key, const std::string& upload_id, std::string_view data,
                     uint64_t part_size, S3Deadline deadline) {
    std::vector<std::string> etags;
    for (uint64_t offset = 0; offset < data.size(); offset += part_size) {
      const std::string number = std::to_string(etags.size() + 1);
      S3Request part{.method = "PUT",
                     .key = FullKey(key),
                     .query = {{"partNumber", number}, {"uploadId", upload_id}},
                     .body = data.substr(offset, part_size)};
      QV_ASSIGN_OR_RETURN(S3Response response, client_.Send(part, deadline));
      QV_RETURN_IF_ERROR(Expect(response, 200, "upload of part " + number, key));
      if (response.etag.empty()) {
        return Status::Corruption("S3 upload of part " + number + " of object '" +
                                  std::string(key) + "' answered without an ETag");
      }
      etags.push_back(std::move(response.etag));
    }
    const std::string completion = CompletionXml(etags);
    QV_ASSIGN_OR_RETURN(S3Response response, client_.Send({.method = "POST",
                                                           .key = FullKey(key),
                                                           .query = {{"uploadId", upload_id}},
                                                           .body = completion},
                                                          deadline));
    QV_RETURN_IF_ERROR(Expect(response, 200, "multipart completion", key));
    // S3 may answer 200 and then fail while it assembles the parts: the
    // error is in the body.
    if (const std::string code = S3ErrorCode(response); !code.empty()) {
      return Status::Unavailable("S3 multipart completion of object '" + std::string(key) +
                                 "' failed: " + code);
    }
    return Status::OK();
  }

  // Best effort: frees the parts stored so far. An upload left behind (the
  // endpoint died too) is invisible to readers and to List; a bucket
  // lifecycle rule for incomplete uploads removes it.
  void Abort(std::string_view key, const std::string& upload_id) {
    const S3Deadline deadline =
        std::chrono::steady_clock::now() + std::min(options().deadline, kAbortDeadline);
    auto aborted = client_.Send(
        {.method = "DELETE", .key = FullKey(key), .query = {{"uploadId", upload_id}}}, deadline);
    (void)aborted;
  }

  S3Client client_;
};

}  // namespace

std::unique_ptr<ObjectStore> NewS3ObjectStore(S3Options options) {
  return std::make_unique<S3ObjectStore>(std::move(options));
}

Status CreateBucket(const S3Options& options) {
  S3Client client(options);
  QV_ASSIGN_OR_RETURN(S3Response response, client.Send({.method = "PUT"}, client.NewDeadline()));
  if (response.status == 200) return Status::OK();  // created, or already ours (us-east-1)
  if (response.status == 409 && S3ErrorCode(response) == "BucketAlreadyOwnedByYou") {
    return Status::OK();
  }
  return S3Error(response, "bucket creation", "", options);
}

}  // namespace quiver
