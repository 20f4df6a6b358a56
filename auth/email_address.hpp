#pragma once
// Validation and normalisation of the email address a user signs in with.
// The normalised form is the account key, so two spellings of one mailbox
// must normalise to the same string and nothing ambiguous may pass.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authsvc::auth {

/// Why an address was refused. Values are pinned; names are stable
/// `details.reason` strings (see to_string).
enum class email_error : std::uint8_t {
  none = 0,
  /// Nothing left after trimming.
  empty = 10,
  /// More than 254 octets in total (RFC 5321 §4.5.3.1.3 path minus <>).
  too_long = 20,
  /// Local part over 64 octets (RFC 5321 §4.5.3.1.1).
  local_part_too_long = 21,
  /// Domain over 255 octets (RFC 5321 §4.5.3.1.2).
  domain_too_long = 22,
  /// A control character, whitespace or non-ASCII octet inside.
  invalid_character = 30,
  /// No `@`.
  missing_at = 40,
  /// More than one `@` (quoted local parts are not supported).
  multiple_at = 41,
  /// Local part empty or not a dot-atom.
  invalid_local_part = 50,
  /// Domain empty, or a label that is not LDH of 1-63 characters.
  invalid_domain = 60,
  /// A single-label domain (`user@localhost`).
  domain_without_dot = 61,
  /// A domain literal (`user@[192.0.2.1]`) or a numeric top-level label.
  address_literal = 62,
};

/// The stable snake_case name of a reason (`"invalid_domain"`).
std::string_view to_string(email_error error) noexcept;

/// The outcome of normalise_email: an address or a reason.
struct email_result {
  /// The normalised address when valid.
  std::optional<std::string> address;
  /// `none` exactly when `address` is set.
  email_error error = email_error::none;

  explicit operator bool() const noexcept { return address.has_value(); }
};

/// Validates and normalises an address typed into a sign-in form.
///
/// Decisions (narrower than RFC 5322 on purpose; this is an account key,
/// not a mail parser):
/// - Surrounding ASCII whitespace is trimmed; whitespace or control
///   characters inside are refused.
/// - ASCII only. Internationalised addresses (RFC 6531) are refused: folding
///   non-ASCII case needs Unicode tables, confusable characters would make
///   look-alike accounts, and many relays lack SMTPUTF8. IDN domains work in
///   their A-label form (`xn--...`).
/// - Exactly one `@`; the local part is a dot-atom (RFC 5322 atext, dots
///   not leading, trailing or doubled). Quoted strings and comments are
///   refused.
/// - The domain is LDH labels of 1-63 characters, no hyphen at either end
///   of a label, at least one dot (single-label names do not exist in public
///   DNS and are mostly typos), no trailing dot, no domain literals, and the
///   last label is not all digits (so `a@1.2.3.4` is refused).
/// - Lengths in octets: local part <= 64, domain <= 255, total <= 254.
/// - The whole address is lower-cased. RFC 5321 lets a server treat local
///   parts case-sensitively, but no major provider does, and treating
///   `Ann@x` and `ann@x` as two accounts invites takeover confusion.
///   Sub-addresses (`+tag`) and dots are kept: they are provider-specific.
email_result normalise_email(std::string_view input);

/// The key that send budgets (per-address rate limit, hourly cap, minimum
/// interval) count under: the address lower-cased, with a `+tag` removed
/// from the local part, so `a+1@x` and `a+2@x` share one mailbox's budget
/// (a mail bomb through tag variants). Mail still goes to the address as
/// given, and the account key stays the normalised address.
/// @pre `normalised` came from normalise_email.
std::string send_budget_key(std::string_view normalised);

} // namespace authsvc::auth
