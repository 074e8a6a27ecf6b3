#pragma once

// Logging: one line per event with time, level and component, as text
// (default) or as JSON objects (`quiver serve --log-format json`). Each
// component has its own spdlog logger sharing one sink.

#include <spdlog/spdlog.h>

#include <string_view>

namespace quiver::log {

// The logger of a component ("engine", "http", "wal", "server", ...).
spdlog::logger& Get(std::string_view component);

// Sets the line format of every logger: "text" or "json". False for an
// unknown format.
bool SetFormat(std::string_view format);

}  // namespace quiver::log
