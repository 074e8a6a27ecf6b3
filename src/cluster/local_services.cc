#include "cluster/local_services.h"

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <iterator>

#include "cluster/etcd_meta_store.h"
#include "cluster/local_process.h"
#include "cluster/nats_config.h"
#include "cluster/nats_log.h"

namespace quiver {

std::vector<std::string> EtcdArgs(const std::string& binary, const std::string& name,
                                  const std::string& data_dir, int client_port, int peer_port) {
  const std::string client = "http://127.0.0.1:" + std::to_string(client_port);
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
  return {binary,
          "--name=" + name,
          "--data-dir=" + data_dir,
          "--listen-client-urls=" + client,
          "--advertise-client-urls=" + client,
          "--listen-peer-urls=" + peer,
          "--initial-advertise-peer-urls=" + peer,
          "--initial-cluster=" + name + "=" + peer,
          "--logger=zap"};
}

Status CheckEtcd(const std::string& endpoint) {
  EtcdOptions options;
  options.endpoint = endpoint;
  options.prefix = "ready/";
  options.deadline = std::chrono::milliseconds(500);
  // A new client each time: one channel would back off between attempts.
  if (NewEtcdMetaStore(options)->CurrentRevision() > 0) return Status::OK();
  return Status::Unavailable("etcd at " + endpoint + " does not answer");
}

namespace {

Result<std::shared_ptr<NatsClient>> Connect(const std::string& servers,
                                            std::chrono::milliseconds deadline) {
  NatsOptions options;
  options.servers = servers;
  options.name = "quiver-cluster-check";
  options.deadline = deadline;
  return ConnectNats(options);
}

}  // namespace

Status CheckNatsConnects(const std::string& servers) {
  return Connect(servers, std::chrono::milliseconds(500)).status();
}

Status CheckJetStream(const std::string& servers, int replicas) {
  // Creating a replicated stream goes through the meta leader and the
  // stream's own election: give it more than a round trip.
  QV_ASSIGN_OR_RETURN(auto client, Connect(servers, std::chrono::seconds(2)));
  const std::string stream = "quiver_cluster_ready";
  QV_RETURN_IF_ERROR(OpenNatsLog(client, {.stream = stream, .replicas = replicas}).status());
  return DeleteNatsStream(*client, stream);
}

Result<std::pair<int, int>> NatsServerVersion(const std::string& binary, const std::string& log) {
  std::ofstream(log, std::ios::trunc).close();
  QV_RETURN_IF_ERROR(RunToEnd({.argv = {binary, "--version"}, .log = log, .new_session = false},
                              std::chrono::seconds(10)));
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto version = ParseNatsVersion(text);
  if (!version) return Status::InvalidArgument("cannot read a version in '" + text + "'");
  return *version;
}

Status CheckHttp(const std::string& url, const std::string& path) {
  httplib::Client client(url);
  client.set_connection_timeout(std::chrono::milliseconds(300));
  client.set_read_timeout(std::chrono::seconds(2));
  const auto answer = client.Get(path);
  if (!answer) {
    const bool refused = answer.error() == httplib::Error::Connection;
    return Status::Unavailable("GET " + url + path + ": " +
                               (refused ? "cannot connect" : httplib::to_string(answer.error())));
  }
  if (answer->status != 200) {
    return Status::Unavailable("GET " + url + path + " answered " + std::to_string(answer->status));
  }
  return Status::OK();
}

Status CheckS3Put(const S3Options& options) {
  S3Options quick = options;
  quick.deadline = std::chrono::seconds(2);
  quick.max_attempts = 1;
  return NewS3ObjectStore(quick)->Put("cluster-ready", "ready");
}

}  // namespace quiver
