#include "server/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "common/process.h"

namespace quiver {
namespace {

// Label values escaped as the text format asks (backslash, quote, newline).
std::string Escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// A per-field index figure summed over a table's vector fields.
double SumOverFields(const TableStatistics& t, size_t FieldIndexStats::*member) {
  double n = 0;
  for (const auto& f : t.stats.indexes) n += double(f.*member);
  return n;
}

void Header(std::string* out, const char* name, const char* type, const char* help) {
  *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

HttpMetrics::HttpMetrics(std::vector<RouteLabel> routes)
    : labels_(std::move(routes)), routes_(std::make_unique<PerRoute[]>(labels_.size())) {}

void HttpMetrics::Observe(size_t route, int status, double seconds) {
  if (route >= labels_.size()) return;
  PerRoute& r = routes_[route];
  r.by_class[std::clamp(status / 100, 0, 5)].fetch_add(1, std::memory_order_relaxed);
  size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  r.le[bucket].fetch_add(1, std::memory_order_relaxed);
  r.micros.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::string HttpMetrics::Render(const DatabaseService& engine) const {
  std::string out;
  Header(&out, "quiver_http_requests_total", "counter", "HTTP requests by route and status class.");
  for (size_t i = 0; i < labels_.size(); ++i) {
    for (int c = 1; c <= 5; ++c) {
      const uint64_t n = routes_[i].by_class[c].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out +=
          fmt::format("quiver_http_requests_total{{method=\"{}\",route=\"{}\",code=\"{}xx\"}} {}\n",
                      labels_[i].method, Escape(labels_[i].path), c, n);
    }
  }
  Header(&out, "quiver_http_request_duration_seconds", "histogram",
         "HTTP request latency by route, from routing to the reply.");
  for (size_t i = 0; i < labels_.size(); ++i) {
    const PerRoute& r = routes_[i];
    const std::string labels =
        fmt::format("method=\"{}\",route=\"{}\"", labels_[i].method, Escape(labels_[i].path));
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += r.le[b].load(std::memory_order_relaxed);
      const std::string le = b < kBuckets.size() ? fmt::format("{}", kBuckets[b]) : "+Inf";
      out += fmt::format("quiver_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels,
                         le, cumulative);
    }
    out += fmt::format("quiver_http_request_duration_seconds_sum{{{}}} {}\n", labels,
                       r.micros.load(std::memory_order_relaxed) / 1e6);
    out += fmt::format("quiver_http_request_duration_seconds_count{{{}}} {}\n", labels, cumulative);
  }

  const auto tables = engine.AllStatistics();
  struct Gauge {
    const char* name;
    const char* type;
    const char* help;
    std::function<double(const TableStatistics&)> value;
  };
  const std::vector<Gauge> gauges = {
      {"quiver_table_rows", "gauge", "Live rows per table.",
       [](const TableStatistics& t) { return double(t.stats.live_rows); }},
      {"quiver_table_unsealed_rows", "gauge", "Live rows not yet in a sealed segment.",
       [](const TableStatistics& t) { return double(t.stats.growing_rows); }},
      {"quiver_table_sealed_segments", "gauge", "Sealed segments per table.",
       [](const TableStatistics& t) { return double(t.stats.sealed_segments); }},
      {"quiver_table_writable", "gauge", "1 when the table accepts writes, 0 when its log failed.",
       [](const TableStatistics& t) { return t.health.ok() ? 1.0 : 0.0; }},
      {"quiver_wal_syncs_total", "counter", "WAL batches written and fdatasynced.",
       [](const TableStatistics& t) { return double(t.stats.wal_syncs); }},
      {"quiver_wal_bytes_total", "counter", "WAL bytes written and fdatasynced.",
       [](const TableStatistics& t) { return double(t.stats.wal_bytes); }},
      {"quiver_index_builds_total", "counter", "Index builds finished.",
       [](const TableStatistics& t) { return double(t.stats.index_builds); }},
      {"quiver_index_build_seconds_total", "counter", "Seconds spent in finished index builds.",
       [](const TableStatistics& t) { return t.stats.index_build_seconds; }},
      {"quiver_index_builds_running", "gauge", "Index builds running now.",
       [](const TableStatistics& t) { return SumOverFields(t, &FieldIndexStats::building); }},
      {"quiver_index_builds_queued", "gauge", "Segments waiting for an index (including running).",
       [](const TableStatistics& t) { return SumOverFields(t, &FieldIndexStats::pending); }},
      {"quiver_index_builds_failed", "gauge", "Vector fields whose last index build failed.",
       [](const TableStatistics& t) {
         double n = 0;
         for (const auto& f : t.stats.indexes) n += f.error.empty() ? 0 : 1;
         return n;
       }},
  };
  for (const Gauge& g : gauges) {
    Header(&out, g.name, g.type, g.help);
    for (const TableStatistics& t : tables) {
      out += fmt::format("{}{{database=\"{}\",table=\"{}\"}} {}\n", g.name, Escape(t.database),
                         Escape(t.name), g.value(t));
    }
  }
  Header(&out, "quiver_resident_memory_bytes", "gauge",
         "Resident memory of the process (mapped segment and index pages included).");
  out += fmt::format("quiver_resident_memory_bytes {}\n", ResidentBytes());
  return out + engine.ClusterMetrics();
}

}  // namespace quiver
