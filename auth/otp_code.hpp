#pragma once
// Short numeric one-time codes (e-mailed sign-in codes) and their keyed hash.
#include <string>
#include <string_view>

namespace authsvc::auth {

/// A uniformly random code of `digits` decimal digits, leading zeros kept
/// ("004217"). Uses rejection sampling, so no value is more likely.
/// @pre 1 <= digits <= 18; values outside are clamped.
std::string generate_otp_code(int digits = 6);

/// Keyed hash of a code for storage: hex HMAC-SHA256 under `server_key` over
/// a domain label, the length-prefixed `flow_id` and the code. Binding the
/// flow id means the same code issued on two flows hashes differently, so
/// a stored hash cannot be matched across flows or looked up in a table.
std::string hash_otp_code(std::string_view server_key, std::string_view flow_id,
                          std::string_view code);

/// Recomputes the hash of `code` and compares it to `stored_hash` in
/// constant time.
bool verify_otp_code(std::string_view server_key, std::string_view flow_id,
                     std::string_view code, std::string_view stored_hash);

} // namespace authsvc::auth
