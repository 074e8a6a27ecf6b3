// HTTP query load against a running Quiver server: each client thread keeps
// one connection alive and sends its share of the queries of an .fvecs file
// through POST /api/{db}/data/query; prints QPS, latency percentiles and
// recall@k against a .ivecs ground truth (primary key = base row number).
//
//   quiver_http_load --port 8888 --db bench --table t --queries query.fvecs
//       --truth groundtruth.ivecs --threads 2

#include <fmt/format.h>
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

template <typename T>
std::vector<std::vector<T>> ReadVecs(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<std::vector<T>> out;
  int32_t d = 0;
  while (out.size() < limit && in.read(reinterpret_cast<char*>(&d), 4)) {
    auto& v = out.emplace_back(static_cast<size_t>(d));
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(d) * 4);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Quiver HTTP query load"};
  std::string host = "127.0.0.1", db, table, field, query_path, truth_path;
  int port = 8888;
  size_t threads = 2, count = 1000, k = 10, rounds = 3, ef = 0;
  app.add_option("--host", host)->capture_default_str();
  app.add_option("--port", port)->required();
  app.add_option("--db", db)->required();
  app.add_option("--table", table)->required();
  app.add_option("--field", field, "queryField (default: the table's only vector field)");
  app.add_option("--queries", query_path, ".fvecs queries")->required();
  app.add_option("--truth", truth_path, ".ivecs ground truth (row numbers = primary keys)");
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--count", count, "Queries per round")->capture_default_str();
  app.add_option("--rounds", rounds, "Rounds over the queries (the first also warms up)")
      ->capture_default_str();
  app.add_option("--limit", k)->capture_default_str();
  app.add_option("--ef", ef, "ef per query (0: the field's default)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const auto queries = ReadVecs<float>(query_path, count);
  const auto truth = truth_path.empty() ? std::vector<std::vector<int32_t>>{}
                                        : ReadVecs<int32_t>(truth_path, count);
  count = queries.size();
  std::vector<std::string> bodies;
  for (const auto& q : queries) {
    nlohmann::json body = {
        {"table", table}, {"queryVector", q}, {"limit", k}, {"response", {"id"}}};
    if (!field.empty()) body["queryField"] = field;
    if (ef != 0) body["ef"] = ef;
    bodies.push_back(body.dump());
  }
  const std::string path = "/api/" + db + "/data/query";

  std::vector<std::set<int64_t>> found(count);
  std::vector<double> latencies(count * rounds);
  std::atomic<size_t> errors{0};
  double measured_seconds = 0;
  for (size_t round = 0; round < rounds; ++round) {
    std::atomic<size_t> next{0};
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    for (size_t t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        httplib::Client client(host, port);
        client.set_keep_alive(true);
        client.set_tcp_nodelay(true);  // else Nagle and delayed ACKs add ~40 ms
        client.set_read_timeout(60, 0);
        for (size_t i; (i = next++) < count;) {
          const auto sent = Clock::now();
          auto reply = client.Post(path, bodies[i], "application/json");
          latencies[round * count + i] =
              std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
          if (!reply || reply->status != 200) {
            ++errors;
            continue;
          }
          if (round == 0) {
            const auto parsed = nlohmann::json::parse(reply->body);
            for (const auto& row : parsed["result"]) found[i].insert(row["id"].get<int64_t>());
          }
        }
      });
    }
    for (auto& w : workers) w.join();
    if (round > 0 || rounds == 1)
      measured_seconds += std::chrono::duration<double>(Clock::now() - start).count();
  }
  const size_t measured = rounds == 1 ? count : count * (rounds - 1);
  std::vector<double> timed(latencies.begin() + (rounds == 1 ? 0 : count), latencies.end());
  std::sort(timed.begin(), timed.end());
  auto pct = [&](double p) { return timed[std::min(timed.size() - 1, size_t(p * timed.size()))]; };
  double recall = 0;
  if (!truth.empty()) {
    size_t hits = 0;
    for (size_t i = 0; i < count; ++i) {
      for (size_t j = 0; j < k && j < truth[i].size(); ++j) hits += found[i].count(truth[i][j]);
    }
    recall = double(hits) / double(count * k);
  }
  fmt::print(
      "queries {} x {} rounds, {} threads, keep-alive: {:.0f} QPS, p50 {:.2f} ms, p99 {:.2f} "
      "ms, errors {}, recall@{} {:.4f}\n",
      count, rounds, threads, measured / measured_seconds, pct(0.5), pct(0.99), errors.load(), k,
      recall);
  return errors.load() == 0 ? 0 : 1;
}
