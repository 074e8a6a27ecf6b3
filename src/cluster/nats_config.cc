#include "cluster/nats_config.h"

#include <fmt/format.h>

#include <charconv>

namespace quiver {

std::string RenderNatsConfig(const NatsServerConfig& config) {
  std::string out = fmt::format(
      "server_name: \"{}\"\n"
      "host: \"{}\"\n"
      "port: {}\n"
      "max_payload: {}\n"
      "jetstream {{\n"
      "  store_dir: \"{}\"\n",
      config.name, config.host, config.port, config.max_payload, config.store_dir);
  // An ack then means the record is on disk at a quorum, not only in its
  // page cache; 2.9 does not know the setting and refuses the file with it.
  if (config.version_major > 2 || (config.version_major == 2 && config.version_minor >= 10)) {
    out += "  sync_interval: always\n";
  }
  out += "}\n";
  if (config.cluster_port > 0) {
    out += fmt::format("cluster {{\n  name: \"{}\"\n  host: \"{}\"\n  port: {}\n  routes: [\n",
                       config.cluster_name, config.host, config.cluster_port);
    for (const auto& route : config.routes) out += fmt::format("    \"{}\"\n", route);
    out += "  ]\n}\n";
  }
  return out;
}

std::optional<std::pair<int, int>> ParseNatsVersion(std::string_view text) {
  size_t v = text.find('v');
  while (v != std::string_view::npos &&
         (v + 1 >= text.size() || text[v + 1] < '0' || text[v + 1] > '9')) {
    v = text.find('v', v + 1);
  }
  if (v == std::string_view::npos) return std::nullopt;
  int major = 0, minor = 0;
  const char* end = text.data() + text.size();
  auto [after_major, e1] = std::from_chars(text.data() + v + 1, end, major);
  if (e1 != std::errc() || after_major == end || *after_major != '.') return std::nullopt;
  auto [after_minor, e2] = std::from_chars(after_major + 1, end, minor);
  if (e2 != std::errc()) return std::nullopt;
  return std::make_pair(major, minor);
}

}  // namespace quiver
