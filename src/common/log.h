#pragma once

// Logging: one line per event with time, level and component, as text
// (default) or as JSON objects (`quiver serve --log-format json`). Each
// component has its own spdlog logger sharing one sink.

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace quiver::log {

// The logger of a component ("engine", "http", "wal", "server", ...).
spdlog::logger& Get(std::string_view component);

// Sets the line format of every logger: "text" or "json". False for an
// unknown format.
bool SetFormat(std::string_view format);

// For a loop that retries: whether a failure should be logged, i.e. it
// differs from the loop's last outcome (a failure repeated every 100 ms
// while a service is down is logged once, and again when it changes or
// after a success). Not thread-safe: one per loop.
class Repeats {
 public:
  bool NewFailure(const Status& status) {
    std::string now = status.ok() ? "" : status.ToString();
    if (now == last_) return false;
    last_ = std::move(now);
    return !status.ok();
  }

 private:
  std::string last_;
};

}  // namespace quiver::log
