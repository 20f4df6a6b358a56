#pragma once
// How times are shown in mails: "2026-11-28 21:05 UTC".
#include <cstdint>
#include <string>

namespace authsvc {

/// `t` (seconds since the epoch) as "YYYY-MM-DD HH:MM UTC".
std::string utc_time(std::int64_t t);

} // namespace authsvc
