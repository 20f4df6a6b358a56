#pragma once
// Message structs shared by the session, flow and HTTP actors. Results carry
// a stable error code (the api.md code) instead of a caf::error so that the
// same code reaches HTTP clients and remote CAF clients unchanged.
#include <cstdint>
#include <string>
#include <vector>

#include "db/audit_store.hpp"
#include "db/users_store.hpp"

namespace authsvc {

/// A user as clients see it (decoded by db::users_store).
using user_info = db::user_record;

/// What every successful sign-in returns (api.md "Token response").
struct token_response {
  std::string access_token;
  std::int64_t expires_in = 0;
  std::string refresh_token;
  std::int64_t refresh_expires_in = 0;
  std::string session_id;
  user_info user;
  // -- OpenID Provider (issue 16): sessions a code exchange opened --
  /// The ID token (OIDC Core §3.1.3.3); empty for other sessions.
  std::string id_token;
  /// The granted scope, space-separated; empty for other sessions.
  std::string scope;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_response& x) {
  return f(x.access_token, x.expires_in, x.refresh_token, x.refresh_expires_in,
           x.session_id, x.user, x.id_token, x.scope);
}

/// A token response, or the error code why there is none.
struct token_result {
  std::string error;
  token_response tokens;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_result& x) {
  return f(x.error, x.tokens);
}

/// Asks the session actor to open a session for a user who just proved
/// control of a sign-in method.
struct new_session {
  user_info user;
  std::vector<std::string> amr;
  std::string ip;
  std::string user_agent;
  /// The access token the sign-in request carried as its bearer, if any:
  /// when it is valid and speaks for the same user, that session is
  /// re-authenticated (new auth_time, same id) instead of a new one opened.
  std::string reauth_token;
  // -- OpenID Provider (issue 16): a session for an OAuth client --
  /// The client the session is issued to: its access tokens carry
  /// aud = client_id and only that client may refresh it. Empty = ours.
  std::string client_id;
  /// The granted scope, space-separated.
  std::string scope;
  /// When the user signed in (the authorization code's auth_time); 0 = now.
  std::int64_t auth_time = 0;
  /// The authorization request's nonce, for the first ID token.
  std::string nonce;
  /// The client's id_token_signed_response_alg ("RS256" or "ES256").
  std::string id_token_alg;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_session& x) {
  return f(x.user, x.amr, x.ip, x.user_agent, x.reauth_token, x.client_id,
           x.scope, x.auth_time, x.nonce, x.id_token_alg);
}

/// Presents a refresh token.
struct refresh_request {
  std::string refresh_token;
  std::string ip;
  std::string user_agent;
  /// The authenticated OAuth client presenting the token (issue 16); empty
  /// on /v1/token/refresh. A token of another client's session (or of one
  /// of ours, when set) is refused.
  std::string client_id;
  /// That client's id_token_signed_response_alg, for the new ID token.
  std::string id_token_alg;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, refresh_request& x) {
  return f(x.refresh_token, x.ip, x.user_agent, x.client_id, x.id_token_alg);
}

/// Who a valid access token speaks for.
struct auth_context {
  std::string user_id;
  std::string session_id;
  std::vector<std::string> amr;
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
  std::string jti;
  std::int64_t session_created_at = 0;
  std::int64_t session_expires_at = 0;
  user_info user; ///< as cached with the session
  /// The token's auth_time: when the user last signed in to this session.
  std::int64_t auth_time = 0;
  /// The OAuth client the session was issued to (issue 16); empty = ours.
  std::string client_id;
  /// That session's granted scope, space-separated.
  std::string scope;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, auth_context& x) {
  return f(x.user_id, x.session_id, x.amr, x.issued_at, x.expires_at, x.jti,
           x.session_created_at, x.session_expires_at, x.user, x.auth_time,
           x.client_id, x.scope);
}

/// An access-token check's outcome.
struct auth_result {
  std::string error;
  auth_context auth;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, auth_result& x) {
  return f(x.error, x.auth);
}

/// A live session as listed to its owner or an admin.
struct session_view {
  std::string id;
  std::string user_id;
  std::vector<std::string> amr;
  std::string ip;
  std::string user_agent;
  std::int64_t created_at = 0;
  std::int64_t last_seen_at = 0;
  std::int64_t expires_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_view& x) {
  return f(x.id, x.user_id, x.amr, x.ip, x.user_agent, x.created_at,
           x.last_seen_at, x.expires_at);
}

/// Revokes sessions: one (`session_id`), or all of a user's
/// (`user_id`, keeping `except_session` when set).
struct revocation {
  std::string session_id;
  std::string user_id;
  std::string except_session;
  std::string reason;
  // -- who asked, for the audit trail --
  std::string ip;
  std::string user_agent;
  std::string request_id;
  std::string actor;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, revocation& x) {
  return f(x.session_id, x.user_id, x.except_session, x.reason, x.ip,
           x.user_agent, x.request_id, x.actor);
}

/// What /health reports about the mailer.
struct mailer_status {
  std::string transport;
  std::int64_t last_success = 0; ///< unix seconds, 0 = never
  std::int64_t last_failure = 0;
  std::string last_error;
  std::int64_t queue_depth = 0;    ///< queued or sending
  std::int64_t oldest_due_age = 0; ///< seconds the oldest due job waited
  std::int32_t workers = 0;        ///< mail workers alive (stuck ones too)
  std::int32_t sending = 0;        ///< sends in flight now
  /// Sends past mail.send_deadline that the transport has not ended yet.
  std::int32_t stuck = 0;
  /// Failed attempts since the last delivery (a relay that keeps failing).
  std::int64_t consecutive_failures = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mailer_status& x) {
  return f(x.transport, x.last_success, x.last_failure, x.last_error,
           x.queue_depth, x.oldest_due_age, x.workers, x.sending, x.stuck,
           x.consecutive_failures);
}

/// One rendered message the mailer hands to a mail worker.
struct mail_delivery {
  std::string mail_from;
  std::string to;
  std::string message_id;
  std::string message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mail_delivery& x) {
  return f(x.mail_from, x.to, x.message_id, x.message);
}

/// What handing one message over came to (mail::send_result on the wire).
struct mail_delivery_result {
  std::int32_t status = 0; ///< mail::send_status
  std::int32_t smtp_code = 0;
  std::string error;
  std::string location;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mail_delivery_result& x) {
  return f(x.status, x.smtp_code, x.error, x.location);
}

} // namespace authsvc

namespace authsvc {

/// One security-relevant event for the audit trail (and its subscribers).
/// Never holds a secret: no tokens, codes, keys or hashes of them.
using audit_event = db::audit_record;

} // namespace authsvc

namespace authsvc {

/// Asks the rate limiter about one request. Without `identifier`: the
/// global per-IP ceiling plus the per-IP limit of `route_class` (a route
/// table class such as "verify"; empty = global only). With `identifier`:
/// only the per-identifier limit of `route_class` (e.g. the normalised
/// address for "email_send").
struct rate_request {
  std::string route_class;
  std::string ip_key; ///< auth::rate_limit_key of the client
  std::string identifier;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rate_request& x) {
  return f(x.route_class, x.ip_key, x.identifier);
}

/// The rate limiter's answer, shaped for the RateLimit-* headers.
struct rate_verdict {
  bool allowed = true;
  std::string type;        ///< the deciding limit class, e.g. "verify_per_ip"
  std::uint32_t limit = 0; ///< 0 = no class limit applied (no headers)
  std::uint32_t remaining = 0;
  std::int64_t reset_after = 0; ///< seconds
  std::int64_t retry_after = 0; ///< seconds, when rejected
  bool audit = false;           ///< first rejection of this key in a minute
  /// No verdict: the shared limits (rate_limit.backend = "redis") did not
  /// answer and rate_limit.redis_fail_open is false; the front answers 503.
  bool unavailable = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rate_verdict& x) {
  return f(x.allowed, x.type, x.limit, x.remaining, x.reset_after,
           x.retry_after, x.audit, x.unavailable);
}

/// One GCRA step in Redis (auth/redis_gcra.hpp): the script's KEYS and ARGV.
struct shared_limit_call {
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_limit_call& x) {
  return f(x.keys, x.args);
}

/// The script's reply, or why there is none (`failure` not empty: Redis
/// unreachable, timed out, or answered an error).
struct shared_limit_reply {
  std::vector<std::int64_t> values;
  std::string failure;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_limit_reply& x) {
  return f(x.values, x.failure);
}

/// The effective IP rules (config merged with the ip_filters table) as CIDR
/// text, pushed to every front actor when they change.
struct ip_rules_snapshot {
  std::vector<std::string> allow;
  std::vector<std::string> deny;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ip_rules_snapshot& x) {
  return f(x.allow, x.deny);
}

} // namespace authsvc

// -- supervision (issue 15) ---------------------------------------------------

namespace authsvc {

/// One top-level actor as the supervisor sees it (/health `checks`).
struct supervised_child {
  std::string name;
  /// "ok" (running), "restarting", or "down" (the process is exiting).
  std::string state;
  /// Times the supervisor restarted it since the process started.
  std::int32_t restarts = 0;
  /// The exit reason of its last death (empty = never died).
  std::string last_exit;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervised_child& x) {
  return f(x.name, x.state, x.restarts, x.last_exit);
}

/// The supervisor's table, in start order.
struct supervision_report {
  std::vector<supervised_child> children;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervision_report& x) {
  return f(x.children);
}

} // namespace authsvc
