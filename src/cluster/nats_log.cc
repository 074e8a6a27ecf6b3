#include "cluster/nats_log.h"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "common/log.h"
#include "wal/wal_format.h"

namespace quiver {

class NatsClient {
 public:
  NatsClient(natsConnection* connection, jsCtx* js, NatsOptions options)
      : connection_(connection), js_(js), options_(std::move(options)) {}
  ~NatsClient() {
    jsCtx_Destroy(js_);
    natsConnection_Destroy(connection_);
  }
  NatsClient(const NatsClient&) = delete;
  NatsClient& operator=(const NatsClient&) = delete;

  natsConnection* connection() const { return connection_; }
  jsCtx* js() const { return js_; }
  const NatsOptions& options() const { return options_; }
  int64_t deadline_ms() const { return options_.deadline.count(); }
  std::chrono::milliseconds reader_heartbeat() const { return options_.reader_heartbeat; }

 private:
  natsConnection* const connection_;
  jsCtx* const js_;
  const NatsOptions options_;
};

namespace {

// What a failed NATS call means to a caller: the server being away or slow
// is kUnavailable (retry later; a publish may have been stored, so retry
// with the same request id), a missing stream kNotFound.
Status FromNats(natsStatus status, jsErrCode error, const std::string& what) {
  if (status == NATS_OK) return Status::OK();
  const char* detail = nats_GetLastError(nullptr);
  std::string text = "NATS " + what + ": " + natsStatus_GetText(status);
  if (detail && *detail && text.find(detail) == std::string::npos)
    text += std::string(" (") + detail + ")";
  if (error == JSStreamNotFoundErr) return Status::NotFound(text);
  switch (status) {
    case NATS_TIMEOUT:
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_RESPONDERS:
    case NATS_IO_ERROR:
      return Status::Unavailable(text);
    default:
      return Status::Internal(text);
  }
}

// The message at `lsn` as the stream's leader holds it (STREAM.MSG.GET,
// which only the leader answers); JSNoMessageFoundErr when it has none.
natsStatus LeaderMessage(jsCtx* js, const std::string& stream, Lsn lsn, int64_t wait_ms,
                         natsMsg** message, jsErrCode* error) {
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = wait_ms;
  return js_GetMsg(message, js, stream.c_str(), lsn, &options, error);
}

// A message's request id (its Nats-Msg-Id; empty when it has none), valid
// while the message is.
std::string_view RequestIdOf(natsMsg* message) {
  const char* id = nullptr;
  return natsMsgHeader_Get(message, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr ? id : "";
}

// A record's frame and request id from a stream message at `lsn`.
Result<LogRecord> RecordOf(natsMsg* message, Lsn lsn, const std::string& stream) {
  const std::string_view data(natsMsg_GetData(message),
                              static_cast<size_t>(natsMsg_GetDataLength(message)));
  LogRecord record;
  size_t size = 0;
  if (wal::DecodeFrame(data, &record, &size) != wal::FrameStatus::kOk || size != data.size()) {
    return Status::Corruption("stream " + stream + ": record " + std::to_string(lsn) +
                              " is damaged");
  }
  record.lsn = lsn;
  record.request_id = RequestIdOf(message);
  return record;
}

// Reads each record as the stream's leader holds it (STREAM.MSG.GET, which
// only the leader answers): after a failure, NATS 2.9's servers can hold
// different records at the same sequence for good ("expected sequence does
// not match store"), and a consumer delivers its own server's copy, not
// necessarily the one writers were acknowledged from. An ordered consumer
// of headers only is the doorbell: it says up to where records exist; with
// it silent, the leader is asked anyway every half second.
class NatsLogReader final : public LogReader {
 public:
  NatsLogReader(natsSubscription* doorbell, jsCtx* js, int64_t deadline_ms, std::string stream,
                Lsn next)
      : doorbell_(doorbell),
        js_(js),
        deadline_ms_(deadline_ms),
        stream_(std::move(stream)),
        next_(next) {}
  ~NatsLogReader() override {
    natsMsg_Destroy(message_);
    natsSubscription_Unsubscribe(doorbell_);
    natsSubscription_Destroy(doorbell_);
  }

  Result<std::optional<LogRecord>> Next(std::chrono::milliseconds wait) override {
    using Clock = std::chrono::steady_clock;
    const auto until = Clock::now() + wait;
    while (true) {
      if (rung_ < next_) {
        // Nothing known past what was read: wait for the doorbell.
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        natsMsg* ring = nullptr;
        natsStatus status =
            natsSubscription_NextMsg(&ring, doorbell_, std::max<int64_t>(left.count(), 1));
        if (status == NATS_TIMEOUT) {
          if (Clock::now() - asked_ < std::chrono::milliseconds(500))
            return std::optional<LogRecord>();
          asked_ = Clock::now();  // the doorbell's server may be stuck: ask the leader
        } else {
          QV_RETURN_IF_ERROR(FromNats(status, jsErrCode{}, "read of stream " + stream_));
          jsMsgMetaData* meta = nullptr;
          status = natsMsg_GetMetaData(&meta, ring);
          natsMsg_Destroy(ring);
          QV_RETURN_IF_ERROR(
              FromNats(status, jsErrCode{}, "metadata of a message of stream " + stream_));
          rung_ = std::max<Lsn>(rung_, meta->Sequence.Stream);
          jsMsgMetaData_Destroy(meta);
          if (rung_ < next_) continue;  // delivered again after the consumer was reset
        }
      }
      natsMsg_Destroy(message_);
      message_ = nullptr;
      jsErrCode error{};
      natsStatus status = LeaderMessage(js_, stream_, next_, deadline_ms_, &message_, &error);
      if (status == NATS_OK) {
        QV_ASSIGN_OR_RETURN(LogRecord record, RecordOf(message_, next_, stream_));
        ++next_;
        return std::optional<LogRecord>(record);
      }
      if (error != JSNoMessageFoundErr)
        return FromNats(status, error, "record " + std::to_string(next_) + " of stream " + stream_);
      if (rung_ > next_) {
        // Records past it exist, it does not: it was trimmed.
        return Status::NotFound("stream " + stream_ + ": record " + std::to_string(next_) +
                                " was trimmed; read from a checkpoint");
      }
      rung_ = std::min(rung_, next_ - 1);  // not there yet: wait for the doorbell again
      if (Clock::now() >= until) return std::optional<LogRecord>();
    }
  }

 private:
  natsSubscription* const doorbell_;
  jsCtx* const js_;
  const int64_t deadline_ms_;
  const std::string stream_;
  Lsn next_;
  Lsn rung_ = 0;  // the highest sequence the doorbell told of
  std::chrono::steady_clock::time_point asked_{};
  natsMsg* message_ = nullptr;  // holds the last record's payload
};

class NatsLog final : public Log {
 public:
  NatsLog(std::shared_ptr<NatsClient> client, NatsLogOptions options)
      : client_(std::move(client)), options_(std::move(options)) {}

  Status Create() {
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = options_.stream.c_str();
    const char* subjects[] = {options_.stream.c_str()};
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    config.Replicas = options_.replicas;
    config.Duplicates =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.duplicate_window).count();
    jsStreamInfo* info = nullptr;
    jsErrCode error{};
    // Adding a stream that exists with the same configuration is a no-op,
    // so replicas that open it at once agree.
    natsStatus status = js_AddStream(&info, client_->js(), &config, nullptr, &error);
    jsStreamInfo_Destroy(info);
    return FromNats(status, error, "create stream " + options_.stream);
  }

  using Log::Append;
  Result<Lsn> Append(RecordType type, std::string_view payload, std::string_view request_id,
                     std::chrono::milliseconds wait) override {
    std::string frame;
    wal::AppendFrame(&frame, /*lsn=*/0, type, payload);
    const int64_t max = natsConnection_GetMaxPayload(client_->connection());
    if (max > 0 && static_cast<int64_t>(frame.size()) > max) {
      return Status::InvalidArgument("a record of " + std::to_string(frame.size()) +
                                     " bytes is larger than the log's largest message (" +
                                     std::to_string(max) + " bytes): send smaller batches");
    }
    jsPubOptions options;
    jsPubOptions_Init(&options);
    const std::string id(request_id);
    if (!id.empty()) options.MsgId = id.c_str();
    options.ExpectStream = options_.stream.c_str();
    options.MaxWait = std::max<int64_t>(1, std::min<int64_t>(client_->deadline_ms(), wait.count()));
    jsPubAck* ack = nullptr;
    jsErrCode error{};
    natsStatus status = js_Publish(&ack, client_->js(), options_.stream.c_str(), frame.data(),
                                   static_cast<int>(frame.size()), &options, &error);
    if (status != NATS_OK) return FromNats(status, error, "publish to " + options_.stream);
    const Lsn lsn = ack->Sequence;
    jsPubAck_Destroy(ack);
    Observe(lsn);
    syncs_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(frame.size(), std::memory_order_relaxed);
    return lsn;
  }

  Lsn LastLsn() const override {
    auto state = State();
    if (state.ok()) Observe(state->last);
    return last_.load();
  }

  Result<Lsn> FetchLastLsn() const override {
    QV_ASSIGN_OR_RETURN(StreamState state, State());
    Observe(state.last);
    return state.last;
  }

  Result<std::optional<std::string>> RequestIdAt(Lsn lsn) const override {
    natsMsg* message = nullptr;
    jsErrCode error{};
    natsStatus status = LeaderMessage(client_->js(), options_.stream, lsn, client_->deadline_ms(),
                                      &message, &error);
    if (status != NATS_OK) {
      if (error == JSNoMessageFoundErr) return std::optional<std::string>();
      return FromNats(status, error,
                      "record " + std::to_string(lsn) + " of stream " + options_.stream);
    }
    std::string request_id(RequestIdOf(message));
    natsMsg_Destroy(message);
    return std::optional<std::string>(std::move(request_id));
  }

  Status Health() const override {
    if (natsConnection_Status(client_->connection()) == NATS_CONN_STATUS_CLOSED) {
      return Status::Unavailable("the connection to NATS is closed");
    }
    return Status::OK();
  }

  Result<std::unique_ptr<LogReader>> ReadFrom(Lsn lsn) const override {
    lsn = std::max<Lsn>(lsn, 1);
    QV_ASSIGN_OR_RETURN(StreamState state, State());
    if (state.first > lsn) {
      return Status::NotFound("stream " + options_.stream + ": record " + std::to_string(lsn) +
                              " was trimmed; read from a checkpoint");
    }
    jsSubOptions options;
    jsSubOptions_Init(&options);
    options.Stream = options_.stream.c_str();
    options.Ordered = true;  // the client restarts it where it was on any gap
    options.Config.DeliverPolicy = js_DeliverByStartSequence;
    options.Config.OptStartSeq = lsn;
    options.Config.HeadersOnly = true;  // a doorbell: the records come from the leader
    // The server sends a heartbeat when it has nothing to deliver; a reader
    // that hears nothing for two to four of them (its consumer was on a
    // server that died) has the client make a new consumer from where it was.
    options.Config.Heartbeat =
        std::chrono::duration_cast<std::chrono::nanoseconds>(client_->reader_heartbeat()).count();
    natsSubscription* subscription = nullptr;
    jsErrCode error{};
    natsStatus status = js_SubscribeSync(&subscription, client_->js(), options_.stream.c_str(),
                                         nullptr, &options, &error);
    if (status != NATS_OK) return FromNats(status, error, "read of stream " + options_.stream);
    // Readers of a busy stream fall behind by design (a catching-up replica):
    // no pending limit, so the client never drops what it received.
    natsSubscription_SetPendingLimits(subscription, -1, -1);
    return std::unique_ptr<LogReader>(std::make_unique<NatsLogReader>(
        subscription, client_->js(), client_->deadline_ms(), options_.stream, lsn));
  }

  Status TrimBefore(Lsn lsn) override {
    if (lsn <= 1) return Status::OK();
    jsOptions options;
    jsOptions_Init(&options);
    options.Wait = client_->deadline_ms();
    options.Stream.Purge.Sequence = lsn;  // everything below it
    jsErrCode error{};
    return FromNats(js_PurgeStream(client_->js(), options_.stream.c_str(), &options, &error), error,
                    "trim of stream " + options_.stream);
  }

  uint64_t syncs() const override { return syncs_.load(std::memory_order_relaxed); }
  uint64_t bytes_written() const override { return bytes_.load(std::memory_order_relaxed); }

 private:
  struct StreamState {
    Lsn first = 0;  // 0 or last + 1 when empty
    Lsn last = 0;
  };

  Result<StreamState> State() const {
    jsOptions options;
    jsOptions_Init(&options);
    options.Wait = client_->deadline_ms();
    jsStreamInfo* info = nullptr;
    jsErrCode error{};
    natsStatus status =
        js_GetStreamInfo(&info, client_->js(), options_.stream.c_str(), &options, &error);
    if (status != NATS_OK) return FromNats(status, error, "state of stream " + options_.stream);
    StreamState state{info->State.FirstSeq, info->State.LastSeq};
    jsStreamInfo_Destroy(info);
    return state;
  }

  void Observe(Lsn lsn) const {
    Lsn seen = last_.load();
    while (lsn > seen && !last_.compare_exchange_weak(seen, lsn)) {
    }
  }

  const std::shared_ptr<NatsClient> client_;
  const NatsLogOptions options_;
  mutable std::atomic<Lsn> last_{0};  // the highest LSN seen: LastLsn's answer when NATS is away
  std::atomic<uint64_t> syncs_{0}, bytes_{0};
};

bool IsStreamName(const std::string& name) {
  return !name.empty() && name.size() <= 200 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

}  // namespace

Result<std::shared_ptr<NatsClient>> ConnectNats(const NatsOptions& options) {
  std::vector<std::string> urls;
  for (size_t start = 0; start <= options.servers.size();) {
    size_t end = options.servers.find(',', start);
    if (end == std::string::npos) end = options.servers.size();
    if (end > start) urls.push_back(options.servers.substr(start, end - start));
    start = end + 1;
  }
  if (urls.empty()) return Status::InvalidArgument("no NATS server given");
  std::vector<const char*> servers;
  servers.reserve(urls.size());
  for (const auto& url : urls) servers.push_back(url.c_str());

  natsOptions* nats_options = nullptr;
  QV_RETURN_IF_ERROR(FromNats(natsOptions_Create(&nats_options), jsErrCode{}, "options"));
  natsOptions_SetServers(nats_options, servers.data(), static_cast<int>(servers.size()));
  natsOptions_SetName(nats_options, options.name.c_str());
  natsOptions_SetTimeout(nats_options, options.deadline.count());
  natsOptions_SetMaxReconnect(nats_options, -1);  // forever
  natsOptions_SetReconnectWait(nats_options, 100);
  // A server that died without closing the socket is noticed within ~2 s.
  natsOptions_SetPingInterval(nats_options, 1000);
  natsOptions_SetMaxPingsOut(nats_options, 2);
  natsConnection* connection = nullptr;
  natsStatus status = natsConnection_Connect(&connection, nats_options);
  natsOptions_Destroy(nats_options);
  if (status != NATS_OK) {
    return Status::Unavailable(std::string("cannot connect to NATS at ") + options.servers + ": " +
                               natsStatus_GetText(status));
  }
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = options.deadline.count();
  jsCtx* js = nullptr;
  status = natsConnection_JetStream(&js, connection, &js_options);
  if (status != NATS_OK) {
    natsConnection_Destroy(connection);
    return FromNats(status, jsErrCode{}, "JetStream context");
  }
  return std::make_shared<NatsClient>(connection, js, options);
}

Result<std::unique_ptr<Log>> OpenNatsLog(std::shared_ptr<NatsClient> client,
                                         NatsLogOptions options) {
  if (!IsStreamName(options.stream)) {
    return Status::InvalidArgument("stream name '" + options.stream +
                                   "' must be 1 to 200 of [A-Za-z0-9_-]");
  }
  const bool create = options.create;
  auto log = std::make_unique<NatsLog>(std::move(client), std::move(options));
  if (create) {
    QV_RETURN_IF_ERROR(log->Create());
  } else {
    QV_RETURN_IF_ERROR(log->FetchLastLsn().status());
  }
  return std::unique_ptr<Log>(std::move(log));
}

Status DeleteNatsStream(NatsClient& client, const std::string& stream) {
  jsErrCode error{};
  Status status = FromNats(js_DeleteStream(client.js(), stream.c_str(), nullptr, &error), error,
                           "delete stream " + stream);
  return status.code() == StatusCode::kNotFound ? Status::OK() : status;
}

}  // namespace quiver
