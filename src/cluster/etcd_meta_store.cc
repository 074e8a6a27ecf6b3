#include "cluster/etcd_meta_store.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <deque>
#include <thread>

#include "cluster/grpc_channel.h"
#include "common/log.h"
#include "common/mutex.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace quiver {
namespace {

namespace pb = etcdserverpb;

Status FromGrpc(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return Status::OK();
  const std::string message = "etcd " + what + ": " + status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
      return Status::Unavailable(message);
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::OUT_OF_RANGE:  // a compacted revision
      return Status::NotFound(message);
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::InvalidArgument(message);
    default:
      return Status::Internal(message);
  }
}

// The smallest key after every key that starts with `prefix`.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last < 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

class EtcdWatch final : public MetaWatch {
 public:
  EtcdWatch(pb::Watch::Stub* stub, std::string prefix, const std::string& key_prefix,
            Revision after)
      : prefix_(std::move(prefix)) {
    stream_ = stub->Watch(&context_);
    pb::WatchRequest request;
    auto* create = request.mutable_create_request();
    create->set_key(prefix_ + key_prefix);
    create->set_range_end(PrefixEnd(prefix_ + key_prefix));
    create->set_start_revision(after + 1);
    if (!stream_->Write(request)) {
      Fail(Status::Unavailable("etcd watch: the stream closed at once"));
      return;
    }
    reader_ = std::thread([this] { Read(); });
  }

  ~EtcdWatch() override {
    context_.TryCancel();
    if (reader_.joinable()) reader_.join();
  }

  Result<std::vector<MetaEvent>> Next(std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    MutexLock lock(&mu_);
    while (events_.empty() && error_.ok()) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) break;
      changed_.WaitFor(&mu_, left);
    }
    if (!events_.empty()) {
      std::vector<MetaEvent> out(events_.begin(), events_.end());
      events_.clear();
      return out;
    }
    if (!error_.ok()) return error_;
    return std::vector<MetaEvent>{};
  }

 private:
  void Fail(Status status) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (error_.ok()) error_ = std::move(status);
    changed_.SignalAll();
  }

  void Read() {
    pb::WatchResponse response;
    while (stream_->Read(&response)) {
      if (response.compact_revision() > 0) {
        Fail(Status::NotFound("etcd watch: revision " +
                              std::to_string(response.compact_revision() - 1) +
                              " and earlier are compacted: read the keys again and watch "
                              "from there"));
        return;
      }
      if (response.canceled()) {
        Fail(Status::Unavailable("etcd watch canceled: " + response.cancel_reason()));
        return;
      }
      MutexLock lock(&mu_);
      for (const auto& event : response.events()) {
        MetaEvent out;
        out.type = event.type() == mvccpb::Event::DELETE ? MetaEvent::Type::kDelete
                                                         : MetaEvent::Type::kPut;
        out.kv.key = event.kv().key().substr(prefix_.size());
        out.kv.value = event.kv().value();
        out.kv.mod_revision = event.kv().mod_revision();
        out.kv.lease = event.kv().lease();
        out.kv.create_revision = event.kv().create_revision();
        events_.push_back(std::move(out));
      }
      if (response.events_size() > 0) changed_.SignalAll();
    }
    const Status ended = FromGrpc(stream_->Finish(), "watch");
    Fail(ended.ok() ? Status::Unavailable("etcd watch: the stream ended") : ended);
  }

  const std::string prefix_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>> stream_;
  std::thread reader_;  // reads the stream into events_ until it ends
  Mutex mu_;
  CondVar changed_;  // with mu_: events or an error arrived
  std::deque<MetaEvent> events_ GUARDED_BY(mu_);
  Status error_ GUARDED_BY(mu_);
};

class EtcdMetaStore final : public MetaStore {
 public:
  explicit EtcdMetaStore(EtcdOptions options)
      : options_(std::move(options)),
        channel_(cluster::NewPeerChannel(options_.endpoint)),
        kv_(pb::KV::NewStub(channel_)),
        watch_(pb::Watch::NewStub(channel_)),
        lease_(pb::Lease::NewStub(channel_)) {}

  Result<std::optional<KeyValue>> Get(std::string_view key) override {
    pb::RangeRequest request;
    request.set_key(Key(key));
    pb::RangeResponse response;
    QV_RETURN_IF_ERROR(
        Call("get", [&](grpc::ClientContext* c) { return kv_->Range(c, request, &response); }));
    if (response.kvs_size() == 0) return std::optional<KeyValue>();
    return std::optional<KeyValue>(ToKeyValue(response.kvs(0)));
  }

  Result<KeyListing> List(std::string_view prefix) override {
    pb::RangeRequest request;
    request.set_key(Key(prefix));
    request.set_range_end(PrefixEnd(Key(prefix)));
    pb::RangeResponse response;
    QV_RETURN_IF_ERROR(
        Call("list", [&](grpc::ClientContext* c) { return kv_->Range(c, request, &response); }));
    KeyListing out;
    out.revision = response.header().revision();
    out.kvs.reserve(response.kvs_size());
    for (const auto& kv : response.kvs()) out.kvs.push_back(ToKeyValue(kv));
    return out;  // etcd answers in key order
  }

  Result<Revision> Put(std::string_view key, std::string_view value, LeaseId lease) override {
    pb::PutRequest request;
    request.set_key(Key(key));
    request.set_value(std::string(value));
    request.set_lease(lease);
    pb::PutResponse response;
    QV_RETURN_IF_ERROR(
        Call("put", [&](grpc::ClientContext* c) { return kv_->Put(c, request, &response); }));
    return Revision{response.header().revision()};
  }

  Result<Revision> CompareAndPut(std::string_view key, std::string_view value, Revision expected,
                                 LeaseId lease) override {
    pb::TxnRequest request;
    ExpectModRevision(&request, key, expected);
    pb::PutRequest* put = request.add_success()->mutable_request_put();
    put->set_key(Key(key));
    put->set_value(std::string(value));
    put->set_lease(lease);
    pb::TxnResponse response;
    QV_RETURN_IF_ERROR(Call("compare-and-put", [&](grpc::ClientContext* c) {
      return kv_->Txn(c, request, &response);
    }));
    if (!response.succeeded()) {
      return Status::Conflict("key '" + std::string(key) + "' changed since revision " +
                              std::to_string(expected));
    }
    return Revision{response.header().revision()};
  }

  Result<Revision> FencedPut(std::string_view key, std::string_view value, Revision expected,
                             const Fence& fence) override {
    pb::TxnRequest request;
    ExpectModRevision(&request, key, expected);
    pb::Compare* guard = request.add_compare();
    guard->set_result(pb::Compare::EQUAL);
    guard->set_target(pb::Compare::CREATE);  // 0 for a key that does not exist
    guard->set_key(Key(fence.key));
    guard->set_create_revision(fence.create_revision);
    pb::PutRequest* put = request.add_success()->mutable_request_put();
    put->set_key(Key(key));
    put->set_value(std::string(value));
    // Refused: which compare failed is in the fence key's state.
    request.add_failure()->mutable_request_range()->set_key(Key(fence.key));
    pb::TxnResponse response;
    QV_RETURN_IF_ERROR(Call(
        "fenced put", [&](grpc::ClientContext* c) { return kv_->Txn(c, request, &response); }));
    if (response.succeeded()) return Revision{response.header().revision()};
    Revision found = 0;
    if (response.responses_size() > 0 && response.responses(0).response_range().kvs_size() > 0)
      found = response.responses(0).response_range().kvs(0).create_revision();
    if (found != fence.create_revision) return FenceConflict(fence, found);
    return Status::Conflict("key '" + std::string(key) + "' changed since revision " +
                            std::to_string(expected));
  }

  Result<Revision> CompareAndDelete(std::string_view key, Revision expected) override {
    pb::TxnRequest request;
    ExpectModRevision(&request, key, expected);
    request.add_success()->mutable_request_delete_range()->set_key(Key(key));
    pb::TxnResponse response;
    QV_RETURN_IF_ERROR(Call("compare-and-delete", [&](grpc::ClientContext* c) {
      return kv_->Txn(c, request, &response);
    }));
    // An absent key has mod revision 0 in a compare: never "deleted" here.
    if (!response.succeeded() || expected == 0) {
      return Status::Conflict("key '" + std::string(key) + "' is not at revision " +
                              std::to_string(expected) + ": not deleted");
    }
    return Revision{response.header().revision()};
  }

  Result<Revision> Delete(std::string_view key) override {
    pb::DeleteRangeRequest request;
    request.set_key(Key(key));
    pb::DeleteRangeResponse response;
    QV_RETURN_IF_ERROR(Call(
        "delete", [&](grpc::ClientContext* c) { return kv_->DeleteRange(c, request, &response); }));
    return Revision{response.header().revision()};
  }

  Revision CurrentRevision() override {
    pb::RangeRequest request;
    request.set_key(Key(""));
    request.set_limit(1);
    request.set_count_only(true);
    pb::RangeResponse response;
    Status status =
        Call("revision", [&](grpc::ClientContext* c) { return kv_->Range(c, request, &response); });
    if (!status.ok()) {
      log::Get("cluster").warn("{}", status.ToString());
      return 0;
    }
    return response.header().revision();
  }

  Status Compact(Revision revision) override {
    pb::CompactionRequest request;
    request.set_revision(revision);
    pb::CompactionResponse response;
    Status status = Call(
        "compact", [&](grpc::ClientContext* c) { return kv_->Compact(c, request, &response); });
    // Compacting what is already compacted changes nothing.
    return status.code() == StatusCode::kNotFound ? Status::OK() : status;
  }

  Result<std::unique_ptr<MetaWatch>> Watch(std::string_view prefix, Revision after) override {
    return std::unique_ptr<MetaWatch>(
        new EtcdWatch(watch_.get(), options_.prefix, std::string(prefix), after));
  }

  Result<LeaseId> GrantLease(std::chrono::milliseconds ttl) override {
    pb::LeaseGrantRequest request;
    request.set_ttl(std::max<int64_t>(1, (ttl.count() + 999) / 1000));
    pb::LeaseGrantResponse response;
    QV_RETURN_IF_ERROR(Call("lease grant", [&](grpc::ClientContext* c) {
      return lease_->LeaseGrant(c, request, &response);
    }));
    if (!response.error().empty())
      return Status::Unavailable("etcd lease grant: " + response.error());
    return LeaseId{response.id()};
  }

  Status KeepAlive(LeaseId lease) override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + options_.deadline);
    auto stream = lease_->LeaseKeepAlive(&context);
    pb::LeaseKeepAliveRequest request;
    request.set_id(lease);
    pb::LeaseKeepAliveResponse response;
    const bool answered = stream->Write(request) && stream->WritesDone() && stream->Read(&response);
    Status finished = FromGrpc(stream->Finish(), "lease keep-alive");
    if (!answered)
      return finished.ok() ? Status::Unavailable("etcd lease keep-alive: no answer") : finished;
    if (response.ttl() <= 0) {
      return Status::NotFound("lease " + std::to_string(lease) + " expired");
    }
    return Status::OK();
  }

  Status RevokeLease(LeaseId lease) override {
    pb::LeaseRevokeRequest request;
    request.set_id(lease);
    pb::LeaseRevokeResponse response;
    Status status = Call("lease revoke", [&](grpc::ClientContext* c) {
      return lease_->LeaseRevoke(c, request, &response);
    });
    return status.code() == StatusCode::kNotFound ? Status::OK() : status;  // already gone
  }

 private:
  std::string Key(std::string_view key) const { return options_.prefix + std::string(key); }

  // A transaction's condition: `key`'s mod revision is `expected` (0: absent).
  void ExpectModRevision(pb::TxnRequest* request, std::string_view key, Revision expected) const {
    pb::Compare* compare = request->add_compare();
    compare->set_result(pb::Compare::EQUAL);
    compare->set_target(pb::Compare::MOD);  // 0 for a key that does not exist
    compare->set_key(Key(key));
    compare->set_mod_revision(expected);
  }

  KeyValue ToKeyValue(const mvccpb::KeyValue& kv) const {
    return {kv.key().substr(options_.prefix.size()), kv.value(), kv.mod_revision(), kv.lease(),
            kv.create_revision()};
  }

  template <class Rpc>
  Status Call(const std::string& what, Rpc rpc) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + options_.deadline);
    return FromGrpc(rpc(&context), what);
  }

  const EtcdOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::KV::Stub> kv_;
  std::unique_ptr<pb::Watch::Stub> watch_;
  std::unique_ptr<pb::Lease::Stub> lease_;
};

}  // namespace

std::unique_ptr<MetaStore> NewEtcdMetaStore(EtcdOptions options) {
  return std::make_unique<EtcdMetaStore>(std::move(options));
}

}  // namespace quiver
