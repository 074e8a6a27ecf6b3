#include "common/log.h"

#include <spdlog/pattern_formatter.h>

#include <map>
#include <memory>
#include <string>

#include "common/mutex.h"

namespace quiver::log {
namespace {

Mutex mu;
std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers GUARDED_BY(mu);

// %Q: the message as the inside of a JSON string.
class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (u < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
        dest.append(esc, esc + sizeof esc);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessage>();
  }
};

std::unique_ptr<spdlog::formatter> Formatter(bool json) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (json) {
    formatter->add_flag<JsonMessage>('Q').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","component":"%n","message":"%Q"})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l [%n] %v");
  }
  return formatter;
}

bool json_format GUARDED_BY(mu) = false;

}  // namespace

spdlog::logger& Get(std::string_view component) {
  MutexLock lock(&mu);
  auto it = loggers.find(component);
  if (it != loggers.end()) return *it->second;
  auto logger = std::make_shared<spdlog::logger>(std::string(component),
                                                 spdlog::default_logger()->sinks().begin(),
                                                 spdlog::default_logger()->sinks().end());
  logger->set_level(spdlog::default_logger()->level());
  logger->set_formatter(Formatter(json_format));
  spdlog::register_logger(logger);
  return *loggers.emplace(std::string(component), std::move(logger)).first->second;
}

bool SetFormat(std::string_view format) {
  if (format != "text" && format != "json") return false;
  MutexLock lock(&mu);
  json_format = format == "json";
  spdlog::default_logger()->set_formatter(Formatter(json_format));
  for (auto& [name, logger] : loggers) logger->set_formatter(Formatter(json_format));
  return true;
}

}  // namespace quiver::log
