#include "cluster/cluster_record.h"

#include <nlohmann/json.hpp>

namespace quiver {
namespace {

using json = nlohmann::ordered_json;

constexpr int kFormatVersion = 1;

json UrlOrNull(const std::string& url) {
  return url.empty() ? json(nullptr) : json(url);
}

json EncodeProcess(const ProcessRecord& p) {
  json env = json::object();
  for (const auto& [key, value] : p.env) env[key] = value;
  return {{"name", p.name},
          {"role", p.role},
          {"pid", p.pid},
          {"url", UrlOrNull(p.url)},
          {"ports", p.ports},
          {"argv", p.argv},
          {"env", env},
          {"log", p.log},
          {"started_at", p.started_at}};
}

ProcessRecord DecodeProcess(const json& j) {
  ProcessRecord p;
  p.name = j.at("name").get<std::string>();
  p.role = j.at("role").get<std::string>();
  p.pid = j.at("pid").get<pid_t>();
  if (!j.at("url").is_null()) p.url = j.at("url").get<std::string>();
  p.ports = j.at("ports").get<std::map<std::string, int>>();
  p.argv = j.at("argv").get<std::vector<std::string>>();
  for (const auto& [key, value] : j.at("env").items()) p.env.emplace_back(key, value);
  p.log = j.at("log").get<std::string>();
  p.started_at = j.at("started_at").get<std::string>();
  return p;
}

}  // namespace

std::vector<std::string> ClusterRecord::DispatcherUrls() const {
  std::vector<std::string> urls;
  for (const auto& p : processes) {
    if (p.role == "dispatcher") urls.push_back(p.url);
  }
  return urls;
}

std::string EncodeClusterRecord(const ClusterRecord& r) {
  json processes = json::array();
  for (const auto& p : r.processes) processes.push_back(EncodeProcess(p));
  json out = {{"format_version", kFormatVersion},
              {"dir", r.dir},
              {"nodes", r.nodes},
              {"dispatchers", r.dispatchers},
              {"nats", r.nats},
              {"object_store_kind", r.object_store_kind},
              {"etcd_endpoint", r.etcd},
              {"nats_servers", r.nats_servers},
              {"object_store", r.object_store},
              {"s3",
               {{"endpoint", r.s3_endpoint},
                {"bucket", r.s3_bucket},
                {"access_key", r.s3_access_key},
                {"secret_key", r.s3_secret_key}}},
              {"processes", processes},
              {"complete", r.complete}};
  return out.dump(2) + "\n";
}

Result<ClusterRecord> DecodeClusterRecord(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Corruption("not JSON");
  try {
    if (j.at("format_version").get<int>() != kFormatVersion) {
      return Status::Corruption("format_version " + j.at("format_version").dump() + " is not " +
                                std::to_string(kFormatVersion));
    }
    ClusterRecord r;
    r.dir = j.at("dir").get<std::string>();
    r.nodes = j.at("nodes").get<int>();
    r.dispatchers = j.at("dispatchers").get<int>();
    r.nats = j.at("nats").get<int>();
    r.object_store_kind = j.at("object_store_kind").get<std::string>();
    r.etcd = j.at("etcd_endpoint").get<std::string>();
    r.nats_servers = j.at("nats_servers").get<std::string>();
    r.object_store = j.at("object_store").get<std::string>();
    const json& s3 = j.at("s3");
    r.s3_endpoint = s3.at("endpoint").get<std::string>();
    r.s3_bucket = s3.at("bucket").get<std::string>();
    r.s3_access_key = s3.at("access_key").get<std::string>();
    r.s3_secret_key = s3.at("secret_key").get<std::string>();
    for (const auto& p : j.at("processes")) r.processes.push_back(DecodeProcess(p));
    r.complete = j.at("complete").get<bool>();
    return r;
  } catch (const json::exception& e) {
    return Status::Corruption(e.what());
  }
}

std::string DescribeCluster(const ClusterRecord& r, const std::vector<bool>* alive) {
  json processes = json::array();
  for (size_t i = 0; i < r.processes.size(); ++i) {
    const ProcessRecord& p = r.processes[i];
    json entry = {{"name", p.name}, {"role", p.role}, {"pid", p.pid}, {"url", UrlOrNull(p.url)}};
    if (alive != nullptr) entry["alive"] = static_cast<bool>((*alive)[i]);
    processes.push_back(std::move(entry));
  }
  json out = {{"dispatchers", r.DispatcherUrls()},
              {"processes", processes},
              {"etcd", r.etcd},
              {"nats", r.nats_servers},
              {"object_store", r.object_store}};
  return out.dump(2) + "\n";
}

}  // namespace quiver
