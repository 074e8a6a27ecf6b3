// Fault-injection tests provoke error logs on purpose; keep them out of the
// test output (QUIVER_TEST_LOGS=1 shows them).

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace {

class QuietLogs : public ::testing::Environment {
 public:
  void SetUp() override {
    if (std::getenv("QUIVER_TEST_LOGS") == nullptr) spdlog::set_level(spdlog::level::off);
  }
};

const auto* const kQuietLogs = ::testing::AddGlobalTestEnvironment(new QuietLogs);

}  // namespace
