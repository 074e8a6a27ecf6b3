#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace quiver::cluster {

// A plaintext gRPC channel to a cluster peer (etcd, a node's shard
// service) that reconnects within a second of the peer coming back: gRPC's
// default backoff grows to two minutes, far past any request's deadline.
// Messages up to 256 MiB (a shard's reply to a large get). With `probe`
// (a node's shard service, whose server accepts it: AcceptPeerProbes), a
// peer that stops answering is given up within ~2 s; not for etcd, which
// refuses pings more often than every 5 s.
std::shared_ptr<grpc::Channel> NewPeerChannel(const std::string& target, bool probe = false);

// A server's side of `probe`: accepts a ping a second, with or without calls.
void AcceptPeerProbes(grpc::ServerBuilder* builder);

// Call before gRPC's first use in the process: a synchronous client
// notices a finished connection attempt only when some thread polls, and
// while no call waits that is gRPC's backup poller, every 5 s by default:
// a peer that came back would stay unreachable that long. Every 100 ms.
void TuneGrpcBeforeFirstUse();

}  // namespace quiver::cluster
