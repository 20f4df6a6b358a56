#pragma once
// The service's version and process start time.
#include <chrono>

namespace authsvc {

inline constexpr const char* version = "0.3.0";

/// Steady-clock time at which the process started (static initialisation).
std::chrono::steady_clock::time_point process_start();

/// Whole seconds since process_start().
long long uptime_seconds();

} // namespace authsvc
