#pragma once
// Errors of the mail layer and its result type (auth/result.hpp's template
// with the mail error), so mail/ needs neither exceptions on the send path
// nor CAF in its headers.
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "auth/result.hpp"

namespace authsvc::mail {

/// What went wrong in the mail layer. Numbers are pinned: they may be logged
/// and stored with queued jobs.
enum class errc : std::uint8_t {
  /// A template file is missing, unreadable or fails to parse or render.
  template_invalid = 10,
  /// The caller asked for a message kind that has no templates.
  unknown_message = 11,
  /// A variable the message needs was not supplied (or has the wrong type).
  missing_variable = 12,
  /// A header value contains CR, LF or another control character.
  invalid_header = 20,
  /// A mailbox address is not a plain `local@domain` we are willing to send to.
  invalid_address = 21,
  /// Text that must be UTF-8 is not.
  invalid_utf8 = 22,
  /// The Message-ID is not of the form `<left@right>`.
  invalid_message_id = 23,
  /// A file-system operation failed.
  io_error = 30,
};

/// Returns the stable snake_case name of `code`.
const char* to_string(errc code);

/// An error code with a human-readable explanation for logs.
struct error {
  errc code;
  std::string message;
};

/// Either a value or an `error` (the service's one result template).
template <class T>
using result = basic_result<T, error>;

} // namespace authsvc::mail
