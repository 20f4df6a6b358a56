#pragma once
// Delivers mail to an SMTP relay through libcurl: one connection per message,
// which suits a mailer that sends a few messages a minute from a worker
// thread and keeps no connection state between jobs.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mail/transport.hpp"

namespace authsvc::mail {

/// How the connection to the relay is protected (`[smtp] security`).
enum class smtp_security : std::uint8_t {
  /// Plain connect, then STARTTLS, which must succeed (port 587).
  starttls = 0,
  /// TLS from the first byte, "SMTPS" (port 465).
  tls = 1,
  /// No TLS at all; for a relay on localhost only.
  none = 2,
};

/// Parses "starttls", "tls" or "none".
std::optional<smtp_security> parse_smtp_security(std::string_view text);

/// Settings of `smtp_transport` (`[smtp]` in the configuration).
struct smtp_config {
  /// Relay host name or IP address.
  std::string host;
  /// 0 picks the default for `security`: 587, 465 or 25.
  std::uint16_t port = 0;
  smtp_security security = smtp_security::starttls;
  /// Both empty: no AUTH. Otherwise curl picks the strongest mechanism the
  /// relay offers.
  std::string username;
  std::string password;
  /// A PEM bundle to verify the relay against instead of the system store.
  /// A self-signed relay certificate can be given here directly, as long as
  /// it names the host we connect to.
  std::string ca_file;
  /// Trust exactly this public key and skip CA and host name checks: for
  /// self-signed relays and tests. A PEM/DER public key file or
  /// "sha256//<base64>" (curl's CURLOPT_PINNEDPUBLICKEY format).
  std::string pinned_public_key;
  /// The name we announce in EHLO; empty lets curl choose.
  std::string helo_name;
  /// Limit for the TCP connect and TLS handshake.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds{10}};
  /// Limit for the whole transaction.
  std::chrono::milliseconds timeout{std::chrono::seconds{60}};
};

/// Sends each message in its own SMTP session.
class smtp_transport : public transport {
public:
  // -- constructors ----------------------------------------------------------

  /// Also initializes libcurl once per process.
  explicit smtp_transport(smtp_config config);

  // -- transport -------------------------------------------------------------

  /// Classifies the result: 5xx replies to MAIL FROM, RCPT TO or DATA are
  /// permanent; 4xx replies, connection failures, timeouts, TLS problems and
  /// rejected credentials are temporary (the last two are relay
  /// configuration, which an operator can fix before the job gives up).
  /// Thread-safe: each call uses its own curl handle.
  send_result send(const envelope& env, const std::string& message) override;

  // -- properties ------------------------------------------------------------

  /// The URL curl connects to, e.g. `smtps://mail.example.com:465`.
  const std::string& url() const { return url_; }

private:
  // -- member variables ------------------------------------------------------

  smtp_config config_;
  std::string url_;
};

} // namespace authsvc::mail
