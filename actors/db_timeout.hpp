#pragma once
// How long any caller waits for the DB actor before it answers
// service_unavailable: one value for every flow, handler and actor.
#include <chrono>

namespace authsvc {

constexpr auto db_timeout = std::chrono::seconds(10);

} // namespace authsvc
