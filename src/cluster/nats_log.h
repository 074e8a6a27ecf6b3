#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "wal/log.h"

namespace quiver {

// A connection to a NATS server or cluster with JetStream, shared by the
// logs of every shard a process serves. Thread-safe.
class NatsClient;

struct NatsOptions {
  std::string servers;                       // comma-separated nats://host:port URLs of one cluster
  std::string name = "quiver";               // the client's name in the server's monitoring
  std::chrono::milliseconds deadline{5000};  // of every request (publish ack, stream calls)
  // A reader whose server went away moves to another within 2-4 of these.
  std::chrono::milliseconds reader_heartbeat{500};
};

// Connects (kUnavailable when no server answers within the deadline). Once
// connected, the client reconnects by itself, forever; calls made while it
// is away fail within their deadline.
Result<std::shared_ptr<NatsClient>> ConnectNats(const NatsOptions& options);

struct NatsLogOptions {
  // The shard's stream; its one subject has the same name. [A-Za-z0-9_-]+
  std::string stream;
  int replicas = 1;  // copies of each record (R3 with three servers)
  // A retried publish with the same request id within this window is stored once.
  std::chrono::seconds duplicate_window{120};
  // Create the stream when missing (its table's creator does); else a
  // missing stream is kNotFound (a dropped table's stream stays dropped).
  bool create = true;
};

// The Log port over a JetStream stream (created when missing): the stream
// sequence is the LSN, each message is one record in the WAL's frame codec
// (wal_format.h; its LSN field is 0, the sequence gives it), the request id
// is the Nats-Msg-Id. Append returns once the stream acknowledged the record:
// a quorum of its servers holds it (see docs/CLUSTER.md for what that means
// on NATS 2.9). A failed publish poisons nothing: a stream stores a record
// whole or not at all (a timeout may still have stored it: retry with the
// same request id). LastLsn asks the server; TrimBefore purges the stream
// below the LSN; a reader fetches each record from the stream's leader,
// woken by an ordered consumer of headers only.
Result<std::unique_ptr<Log>> OpenNatsLog(std::shared_ptr<NatsClient> client,
                                         NatsLogOptions options);

// Removes a stream and its records (a dropped table; tests). Absent is OK.
Status DeleteNatsStream(NatsClient& client, const std::string& stream);

}  // namespace quiver
