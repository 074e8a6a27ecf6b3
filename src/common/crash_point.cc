#include "common/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>

namespace quiver {
namespace {

struct Armed {
  std::string name;
  long hit_number = 1;
  std::atomic<long> hits{0};
};

Armed* LoadArmed() {
  const char* env = std::getenv("QUIVER_CRASH_POINT");
  if (env == nullptr || *env == '\0') return nullptr;
  auto* armed = new Armed;  // lives for the process
  std::string spec(env);
  if (auto colon = spec.rfind(':'); colon != std::string::npos) {
    armed->hit_number = std::max(1L, std::atol(spec.c_str() + colon + 1));
    spec.resize(colon);
  }
  armed->name = spec;
  return armed;
}

}  // namespace

void CrashPoint(std::string_view name) {
  static Armed* const armed = LoadArmed();
  if (armed == nullptr || name != armed->name) return;
  if (armed->hits.fetch_add(1) + 1 < armed->hit_number) return;
  static const char kMessage[] = "quiver: crash point reached, killing the process\n";
  (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  ::kill(::getpid(), SIGKILL);
}

void PausePoint(std::string_view name) {
  static const std::pair<std::string, std::string> armed = [] {
    const char* env = std::getenv("QUIVER_PAUSE_POINT");
    std::string spec = env ? env : "";
    const auto colon = spec.find(':');
    if (colon == std::string::npos) return std::pair<std::string, std::string>{};
    return std::pair<std::string, std::string>{spec.substr(0, colon), spec.substr(colon + 1)};
  }();
  if (armed.first.empty() || name != armed.first) return;
  // Bounded, so a test that forgets to release the point cannot hang CI.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (::access(armed.second.c_str(), F_OK) != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace quiver
