#pragma once
// HOTP (RFC 4226) and TOTP (RFC 6238) plus the otpauth:// provisioning URI.
// Time is always a parameter (Unix seconds); nothing here reads the clock.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/encoding.hpp"

namespace authsvc::auth {

/// HMAC hash behind the one-time password. Authenticator apps mostly support
/// only SHA-1; SHA-256/512 exist for the RFC 6238 vectors and for apps that
/// honour the `algorithm` URI parameter.
enum class otp_hash : std::uint8_t { sha1, sha256, sha512 };

/// "SHA1", "SHA256" or "SHA512", as written in otpauth URIs.
std::string_view to_string(otp_hash h);

/// TOTP parameters; the defaults are what every authenticator app assumes.
struct totp_params {
  otp_hash hash = otp_hash::sha1;
  /// Code length, 6 to 8 (RFC 4226 §5.3 requires at least 6).
  int digits = 6;
  /// Time step in seconds (RFC 6238 X).
  std::int64_t period = 30;
  /// Unix time at which step 0 begins (RFC 6238 T0).
  std::int64_t t0 = 0;
};

/// Default size of a freshly generated TOTP secret: 160 bits, the HMAC-SHA1
/// block output length recommended by RFC 4226 §4.
inline constexpr std::size_t default_totp_secret_size = 20;

/// A new random TOTP secret (encode it with base32_encode for the user).
bytes generate_totp_secret(std::size_t size = default_totp_secret_size);

/// The HOTP value of `counter` (RFC 4226 §5.3), zero-padded to `digits`.
/// @returns an empty string unless 6 <= digits <= 8.
std::string hotp(const bytes& secret, std::uint64_t counter, int digits = 6,
                 otp_hash hash = otp_hash::sha1);

/// The time step containing `unix_time`: floor((unix_time - t0) / period).
/// @returns nullopt before t0 or for a non-positive period.
std::optional<std::uint64_t> totp_step(std::int64_t unix_time,
                                       const totp_params& params = {});

/// The TOTP code valid at `unix_time` (empty string if totp_step fails).
std::string totp(const bytes& secret, std::int64_t unix_time,
                 const totp_params& params = {});

/// Checks a user-entered code against the steps now-window .. now+window.
/// `window` is 0..10 (anything else matches nothing). Every candidate is
/// computed and compared in constant time, and a step at
/// or below `last_used_step` is never accepted, so a code cannot be replayed.
/// @param code exactly `params.digits` ASCII digits (nothing is trimmed).
/// @param last_used_step the step stored after the last successful check,
///        nullopt if none yet.
/// @returns the matched step (store it as the new `last_used_step`), or
///          nullopt if the code does not match an acceptable step.
std::optional<std::uint64_t>
verify_totp(const bytes& secret, std::string_view code, std::int64_t now,
            int window = 1, std::optional<std::uint64_t> last_used_step = {},
            const totp_params& params = {});

/// Percent-encodes everything except the RFC 3986 unreserved set
/// (ALPHA / DIGIT / "-" / "." / "_" / "~"), with upper-case hex digits.
std::string percent_encode(std::string_view text);

/// Builds the Key URI for authenticator apps:
/// `otpauth://totp/Issuer:account?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30`.
/// Issuer and account are percent-encoded separately; the ':' between them
/// stays literal. An empty issuer leaves out both the prefix and the
/// parameter.
std::string otpauth_uri(std::string_view issuer, std::string_view account_label,
                        std::string_view secret_b32,
                        const totp_params& params = {});

} // namespace authsvc::auth
