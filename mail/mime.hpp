#pragma once
// Builds the RFC 5322 / MIME text of one email: a multipart/alternative with a
// plain-text and an HTML part, both UTF-8 and quoted-printable, CRLF line
// endings, no line longer than 78 octets in the headers and 76 in the bodies.
// Every header value is checked here, so no caller input can add a header.
#include <chrono>
#include <string>
#include <string_view>

#include "mail/error.hpp"

namespace authsvc::mail {

/// A display name and an address, e.g. {"Ünïcødé", "ada@example.com"}.
struct mailbox {
  /// UTF-8; may be empty. Non-ASCII is sent as RFC 2047 encoded-words.
  std::string display_name;
  /// A plain `local@domain` address (see `is_valid_address`).
  std::string address;
};

/// Everything `build_message` needs.
struct message_fields {
  mailbox from;
  mailbox to;
  /// UTF-8, one line.
  std::string subject;
  /// UTF-8 bodies; LF or CRLF line endings (converted to CRLF).
  std::string text;
  std::string html;
  /// `<left@right>`, stable per job so that retries and the outbox file name
  /// stay the same (see `make_message_id`).
  std::string message_id;
  /// The Date header; passed in so that tests and retries control it.
  std::chrono::system_clock::time_point date;
  /// Optional Content-Language value, e.g. `pt-BR`.
  std::string language;
  /// The multipart boundary; empty picks a random one (tests may fix it).
  std::string boundary;
};

/// @returns whether `address` is an ASCII `local@domain` with a dot-atom local
///          part (≤ 64 octets) and a host name of LDH labels (≤ 253 octets).
///          Quoted local parts, IP literals and SMTPUTF8 addresses are
///          refused: we never need them, and each is a parser corner case.
bool is_valid_address(std::string_view address);

/// @returns `<unique@domain>`; `build_message` validates the result.
std::string make_message_id(std::string_view unique, std::string_view domain);

/// @returns the domain part of `address` (after the last '@'), or "".
std::string_view address_domain(std::string_view address);

/// Formats `t` as an RFC 5322 date-time in UTC,
/// e.g. `Tue, 04 Mar 2025 09:05:00 +0000`.
std::string format_date(std::chrono::system_clock::time_point t);

/// Encodes UTF-8 text as RFC 2047 "B" encoded-words of at most 68 octets,
/// split only between characters, joined by CRLF SP so that each line stays
/// within 78 octets even after a header name.
/// @pre `is_valid_utf8(text)`
std::string encode_words(std::string_view text);

/// Encodes text as quoted-printable (RFC 2045 §6.7) with CRLF line breaks and
/// lines of at most 76 octets. Line breaks in `text` (LF, CRLF or CR) become
/// hard CRLF breaks; a leading '.' or "From " is encoded too, so the body
/// survives SMTP dot-stuffing and mbox storage unchanged.
std::string quoted_printable_encode(std::string_view text);

/// Builds the complete message.
/// @returns `invalid_header` if a header value holds a control character
///          (CR/LF included), `invalid_address` for a bad From/To address,
///          `invalid_utf8` for non-UTF-8 text, `invalid_message_id` for a
///          Message-ID not of the form `<left@right>`.
result<std::string> build_message(const message_fields& fields);

} // namespace authsvc::mail
