#pragma once
// The public actor interface of passwordless-auth for other CAF systems.
//
// A client includes this header, calls `passwordless::api::register_types`
// on its `caf::actor_system_config`, loads `caf::io::middleman` (and
// `caf::openssl::manager` for TLS), and connects:
//
//   auto svc = sys.middleman().remote_actor<passwordless::api::auth_service>(
//     "127.0.0.1", 4242);
//
// It depends only on CAF 0.17 and the standard library.
//
// Versioning: `interface_version` is part of every registered type name
// ("passwordless.api.v1.verify_reply"), so a client compiled against a
// different version has a different typed interface and `remote_actor`
// fails at once with `sec::unexpected_actor_messaging_interface`
// (see `describe_connect_error`). A client should also send `hello_atom`
// with its version first: the service answers `version_mismatch` in
// `hello_reply::error` when it does not speak that version.
//
// Every reply carries `error`: empty on success, otherwise one of the
// service's HTTP API error codes (`unauthorized`, `rate_limited`,
// `validation_failed`, `not_found`, `service_unavailable`,
// `internal_error`, `version_mismatch`). Operations never answer with a
// caf::error on purpose; a caf::error means transport trouble (timeout,
// service down).
#include <cstdint>
#include <string>
#include <vector>

#include <caf/all.hpp>

#ifndef PASSWORDLESS_API_VERSION
#define PASSWORDLESS_API_VERSION 1
#endif

namespace passwordless::api {

// -- version ------------------------------------------------------------------

/// The interface version this header describes.
constexpr std::uint32_t interface_version = PASSWORDLESS_API_VERSION;

#define PASSWORDLESS_API_STR2(x) #x
#define PASSWORDLESS_API_STR(x) PASSWORDLESS_API_STR2(x)
/// Prefix of every registered type name, e.g. "passwordless.api.v1.".
constexpr const char* type_name_prefix
    = "passwordless.api.v" PASSWORDLESS_API_STR(PASSWORDLESS_API_VERSION) ".";

// -- atoms (CAF 0.17: at most ten characters) ---------------------------------

using hello_atom = caf::atom_constant<caf::atom("pa_hello")>;
using verify_atom = caf::atom_constant<caf::atom("pa_verify")>;
using session_atom = caf::atom_constant<caf::atom("pa_session")>;
using revoke_atom = caf::atom_constant<caf::atom("pa_revoke")>;
using user_atom = caf::atom_constant<caf::atom("pa_user")>;
using email_atom = caf::atom_constant<caf::atom("pa_email")>;
using subscribe_atom = caf::atom_constant<caf::atom("pa_sub")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("pa_unsub")>;

// -- messages -----------------------------------------------------------------

/// Answer to `hello_atom`.
struct hello_reply {
  std::string error;           ///< "" or "version_mismatch"
  std::uint32_t version = 0;   ///< the interface version the service speaks
  std::string service_version; ///< e.g. "0.3.0"
  std::string peer;            ///< how the service attributes this client
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello_reply& x) {
  return f(x.error, x.version, x.service_version, x.peer);
}

/// A user as the service stores it.
struct user_record {
  std::string id;
  std::string email;
  std::string display_name;
  std::string locale;
  std::int64_t created_at = 0; ///< unix seconds
  bool disabled = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_record& x) {
  return f(x.id, x.email, x.display_name, x.locale, x.created_at, x.disabled);
}

/// Who a valid access token speaks for (the token's claims plus its
/// session, checked live).
struct token_claims {
  std::string user_id;    ///< sub
  std::string session_id; ///< sid
  std::vector<std::string> amr;
  std::int64_t issued_at = 0;  ///< iat
  std::int64_t expires_at = 0; ///< exp
  std::string jti;
  std::int64_t session_created_at = 0;
  std::int64_t session_expires_at = 0;
  user_record user;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_claims& x) {
  return f(x.user_id, x.session_id, x.amr, x.issued_at, x.expires_at, x.jti,
           x.session_created_at, x.session_expires_at, x.user);
}

/// Answer to `verify_atom, token`: `unauthorized` for a bad, expired,
/// tampered or revoked token (as GET /v1/session answers 401).
struct verify_reply {
  std::string error;
  token_claims claims;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, verify_reply& x) {
  return f(x.error, x.claims);
}

/// Answer to `session_atom, session_id`: is that session live?
struct session_reply {
  std::string error;
  bool live = false;
  std::string user_id;
  std::vector<std::string> amr;
  std::int64_t created_at = 0;
  std::int64_t last_seen_at = 0;
  std::int64_t expires_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_reply& x) {
  return f(x.error, x.live, x.user_id, x.amr, x.created_at, x.last_seen_at,
           x.expires_at);
}

/// Revokes one session (`session_id`) or every session of a user
/// (`user_id` alone). With both, the session must belong to the user.
struct revoke_request {
  std::string session_id;
  std::string user_id;
  std::string reason; ///< free text for the audit trail (optional)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, revoke_request& x) {
  return f(x.session_id, x.user_id, x.reason);
}

struct revoke_reply {
  std::string error;
  std::int32_t revoked = 0; ///< live sessions that ended
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, revoke_reply& x) {
  return f(x.error, x.revoked);
}

/// Looks a user up by id or by email address (exactly one of them).
struct user_query {
  std::string id;
  std::string email;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_query& x) {
  return f(x.id, x.email);
}

/// `not_found` when there is no such user.
struct user_reply {
  std::string error;
  user_record user;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_reply& x) {
  return f(x.error, x.user);
}

/// Starts an email sign-in exactly as POST /v1/auth/email/start does.
struct email_start_request {
  std::string email;
  std::string redirect_to; ///< optional; must be in the allow list
  std::string locale;      ///< optional
  std::string ip;          ///< optional: the end user's address, for the mail
  std::string user_agent;  ///< optional: the end user's device, for the mail
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, email_start_request& x) {
  return f(x.email, x.redirect_to, x.locale, x.ip, x.user_agent);
}

/// The same answer for known and unknown addresses (no enumeration).
struct email_start_reply {
  std::string error;
  /// For `validation_failed`: "field: problem" entries.
  std::vector<std::string> details;
  std::string flow_id;
  std::string flow_secret; ///< collects the session at /v1/auth/email/exchange
  std::int64_t expires_in = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, email_start_reply& x) {
  return f(x.error, x.details, x.flow_id, x.flow_secret, x.expires_in);
}

/// One audit event (never holds a secret).
struct audit_record {
  std::string type; ///< e.g. "session.created", "caf.revoke"
  std::int64_t created_at = 0;
  std::string user_id;
  std::string email; ///< hashed when the service hashes emails
  std::string ip;
  std::string user_agent;
  std::string request_id;
  std::string actor;
  bool success = true;
  std::string metadata; ///< a small JSON object, as text
  /// Events this subscriber lost just before this one because it was slow.
  std::int64_t dropped_before = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_record& x) {
  return f(x.type, x.created_at, x.user_id, x.email, x.ip, x.user_agent,
           x.request_id, x.actor, x.success, x.metadata, x.dropped_before);
}

/// Answer to subscribe/unsubscribe.
struct subscribe_reply {
  std::string error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscribe_reply& x) {
  return f(x.error);
}

// -- actors -------------------------------------------------------------------

/// What an audit subscriber implements. Each event is a request: the
/// service keeps a bounded number in flight per subscriber and buffers a
/// bounded number more; past that it drops the oldest and reports the loss
/// in the next event's `dropped_before`. Reply `true` to acknowledge.
using audit_sink = caf::typed_actor<caf::replies_to<audit_record>::with<bool>>;

/// The published service interface.
using auth_service = caf::typed_actor<
    /// Checks the interface version; call first.
    caf::replies_to<hello_atom, std::uint32_t>::with<hello_reply>,
    /// Verifies an access token (signature, expiry, and that its session is
    /// live right now).
    caf::replies_to<verify_atom, std::string>::with<verify_reply>,
    /// Looks up a session's liveness by id.
    caf::replies_to<session_atom, std::string>::with<session_reply>,
    /// Revokes a session or all of a user's sessions, effective at once.
    caf::replies_to<revoke_atom, revoke_request>::with<revoke_reply>,
    /// Looks up a user by id or email.
    caf::replies_to<user_atom, user_query>::with<user_reply>,
    /// Starts an email sign-in (sends the mail).
    caf::replies_to<email_atom, email_start_request>::with<email_start_reply>,
    /// Streams every audit event to `sink` until it unsubscribes or goes down.
    caf::replies_to<subscribe_atom, audit_sink>::with<subscribe_reply>,
    caf::replies_to<unsubscribe_atom, audit_sink>::with<subscribe_reply>>;

// -- registration -------------------------------------------------------------

/// Registers this interface's message types (with versioned names) on a
/// config. Call before constructing the actor_system, on both sides.
inline void register_types(caf::actor_system_config& cfg) {
  auto name = [](const char* n) { return std::string(type_name_prefix) + n; };
  cfg.add_message_type<hello_reply>(name("hello_reply"));
  cfg.add_message_type<user_record>(name("user_record"));
  cfg.add_message_type<token_claims>(name("token_claims"));
  cfg.add_message_type<verify_reply>(name("verify_reply"));
  cfg.add_message_type<session_reply>(name("session_reply"));
  cfg.add_message_type<revoke_request>(name("revoke_request"));
  cfg.add_message_type<revoke_reply>(name("revoke_reply"));
  cfg.add_message_type<user_query>(name("user_query"));
  cfg.add_message_type<user_reply>(name("user_reply"));
  cfg.add_message_type<email_start_request>(name("email_start_request"));
  cfg.add_message_type<email_start_reply>(name("email_start_reply"));
  cfg.add_message_type<audit_record>(name("audit_record"));
  cfg.add_message_type<subscribe_reply>(name("subscribe_reply"));
  cfg.add_message_type<audit_sink>(name("audit_sink"));
}

/// A one-line explanation of a `remote_actor<auth_service>` failure, so a
/// client never shows a bare CAF error code.
inline std::string describe_connect_error(const caf::error& e) {
  if (e == caf::sec::unexpected_actor_messaging_interface)
    return "the service does not speak passwordless API v"
           + std::to_string(interface_version)
           + " (interface mismatch): use a client built for the service's "
             "API version";
  if (e == caf::sec::disconnect_during_handshake)
    return "the service closed the connection during the handshake "
           "(TLS required, or the client certificate was refused)";
  if (e == caf::sec::cannot_connect_to_node)
    return "cannot connect to the service (wrong host/port, or down)";
  return "cannot connect: " + caf::to_string(e);
}

} // namespace passwordless::api
