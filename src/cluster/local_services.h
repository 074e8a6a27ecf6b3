#pragma once

// The services a cluster stands on, run on this host (by the local cluster
// launcher and by the tests): how to start etcd, and one check per service
// that it is ready, each a single attempt bounded by a short deadline (the
// caller repeats it until it passes or its own deadline has passed).

#include <string>
#include <utility>
#include <vector>

#include "cluster/s3_object_store.h"
#include "common/status.h"

namespace quiver {

// The command line of a single-member etcd 3.4 on 127.0.0.1 (`binary` from
// PATH or a path), its data in `data_dir`, logging with zap.
std::vector<std::string> EtcdArgs(const std::string& binary, const std::string& name,
                                  const std::string& data_dir, int client_port, int peer_port);

// OK once etcd at `endpoint` (host:port) answers with a revision.
Status CheckEtcd(const std::string& endpoint);

// OK once a client connects to the NATS servers `servers` (comma-separated URLs).
Status CheckNatsConnects(const std::string& servers);

// OK once JetStream on `servers` creates a stream of `replicas` copies (a
// cluster has elected its meta leader), which is then deleted.
Status CheckJetStream(const std::string& servers, int replicas);

// The version of the nats-server `binary` (`nats-server --version`), its
// output written to `log`.
Result<std::pair<int, int>> NatsServerVersion(const std::string& binary, const std::string& log);

// OK once GET `url` + `path` answers 200 (url: http://host:port).
Status CheckHttp(const std::string& url, const std::string& path);

// OK once a signed PUT of a small object to `options`' bucket succeeds.
Status CheckS3Put(const S3Options& options);

}  // namespace quiver
