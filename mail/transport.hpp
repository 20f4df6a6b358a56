#pragma once
// The one interface every way of delivering mail implements. Transports are
// plain blocking objects: the mailer actor runs `send` on a worker thread and
// decides from `send_result` whether to retry (see retry.hpp).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace authsvc::mail {

/// Who the message travels from and to on the wire, apart from its headers.
struct envelope {
  /// SMTP reverse path (MAIL FROM): where bounces go. A plain address.
  std::string mail_from;
  /// SMTP forward paths (RCPT TO). Plain addresses, at least one.
  std::vector<std::string> recipients;
  /// The message's Message-ID (`<job-id@domain>`). Stable across retries;
  /// the outbox names its file after it.
  std::string message_id;
};

/// How a send attempt ended, as the retry logic needs to know it.
enum class send_status : std::uint8_t {
  /// Accepted by the next hop (the relay or the outbox folder).
  ok = 0,
  /// Might work later: connection trouble, timeouts, 4xx replies, a full
  /// disk, relay configuration (TLS, credentials) an operator can fix.
  temporary_failure = 10,
  /// Will never work for this message: a 5xx reply to MAIL, RCPT or DATA
  /// (an unknown recipient), or an envelope we refuse to send.
  permanent_failure = 20,
};

/// Returns "ok", "temporary_failure" or "permanent_failure".
const char* to_string(send_status status);

/// The outcome of one `transport::send`.
struct send_result {
  send_status status = send_status::ok;
  /// The last SMTP reply code seen (250, 451, 550 …); 0 when there was none.
  int smtp_code = 0;
  /// What went wrong, for logs and the job record; empty on success.
  std::string error;
  /// Where the message went: the outbox file path, or the relay URL.
  std::string location;

  /// @returns whether the message was handed over.
  bool ok() const { return status == send_status::ok; }
};

/// One message of a batch: its envelope and the complete message.
struct outgoing {
  envelope env;
  std::string message;
};

/// Delivers complete RFC 5322 messages.
class transport {
public:
  virtual ~transport() = default;

  /// Hands `message` (CRLF line endings, as `build_message` makes it) to the
  /// next hop. Never throws; blocks until done or timed out.
  virtual send_result send(const envelope& env, const std::string& message) = 0;

  /// Hands over every message of `batch`; one result per message, in order.
  /// The default sends them one by one; a transport that can share the
  /// cost of a handover among messages (the outbox: one file-system sync)
  /// overrides it.
  virtual std::vector<send_result>
  send_batch(const std::vector<outgoing>& batch);

  /// The most messages worth giving `send_batch` at once (1: no gain).
  virtual std::size_t batch_limit() const { return 1; }
};

/// Checks an envelope the same way for every transport.
/// @returns an empty string if `env` is usable, else why not.
std::string check_envelope(const envelope& env);

} // namespace authsvc::mail
