#pragma once
// One-shot recovery codes for users who lose their authenticator.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc::auth {

/// The code alphabet: lower-case letters and digits without 0/o, 1/i/l,
/// so a code read aloud or copied by hand cannot be mistyped ambiguously
/// (31 symbols, about 4.95 bits each).
inline constexpr std::string_view recovery_code_alphabet
    = "23456789abcdefghjkmnpqrstuvwxyz";

/// Symbols per code (two groups of 5: about 49.5 bits).
inline constexpr std::size_t recovery_code_symbols = 10;

/// `count` distinct random codes formatted "xxxxx-xxxxx".
std::vector<std::string> generate_recovery_codes(std::size_t count = 10);

/// Canonical form of a user-entered code: spaces and dashes removed, ASCII
/// letters lower-cased. Hash only normalized codes.
std::string normalize_recovery_code(std::string_view code);

/// True if the normalized code has the right length and only alphabet
/// symbols (a cheap check before hashing).
bool is_well_formed_recovery_code(std::string_view code);

/// Hex HMAC-SHA256 under the server `pepper` of the normalized code: the form
/// stored in the database.
std::string hash_recovery_code(std::string_view pepper, std::string_view code);

/// Hashes `code` and compares it with `stored_hash` in constant time.
bool recovery_code_matches(std::string_view pepper, std::string_view code,
                           std::string_view stored_hash);

} // namespace authsvc::auth
