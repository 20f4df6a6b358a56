#include "core/version.hpp"

namespace authsvc {

namespace {
const auto started = std::chrono::steady_clock::now();
} // namespace

std::chrono::steady_clock::time_point process_start() {
  return started;
}

long long uptime_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now() - started)
      .count();
}

} // namespace authsvc
