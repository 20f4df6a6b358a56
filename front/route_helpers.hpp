#pragma once
// Small pieces the route handlers share: JSON forms of users and token
// responses, and field validation that collects every problem for a 422.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "actors/db_timeout.hpp"
#include "actors/safe_request.hpp"
#include "front/http_front.hpp"
#include "actors/requester.hpp"
#include "actors/messages.hpp"

namespace authsvc::http_routes {

nlohmann::json user_json(const user_info& u);

nlohmann::json token_json(const token_response& t);

/// Answers a token result: 200 with no-store, or its error code.
void reply_tokens(const context_ptr& ctx, const token_result& r);

/// Collects field problems; answers 422 validation_failed when any.
class field_errors {
public:
  /// A required (or optional) string field of at most `max` characters.
  std::optional<std::string> string(const nlohmann::json& body,
                                    const std::string& name, bool required,
                                    std::size_t max);
  /// A required one-time code of exactly six ASCII digits (email codes,
  /// email-change codes, TOTP); anything else is "must be 6 digits".
  std::optional<std::string> six_digit_code(const nlohmann::json& body,
                                            const std::string& name);
  void add(const std::string& field, const std::string& problem) {
    details_[field] = problem;
  }
  bool any() const { return !details_.empty(); }
  /// Replies 422 with the collected details. @returns true if it replied.
  bool reply_if_any(const context_ptr& ctx);

private:
  nlohmann::json details_ = nlohmann::json::object();
};

/// Replies `status` with `body` and `Cache-Control: no-store`: for answers
/// that carry a secret or a per-request state (pending flows, codes).
void reply_no_store(const context_ptr& ctx, std::uint16_t status,
                    const nlohmann::json& body);

/// A revocation stamped with the request's ip, user agent, id and actor.
revocation make_revocation(const context_ptr& ctx, std::string session_id,
                           std::string user_id, std::string except_session,
                           std::string reason);

/// The request's User-Agent as it is stored: stored_user_agent(header).
std::string user_agent(const context_ptr& ctx);

/// A User-Agent header as the stores keep it: at most 512 bytes, cut
/// between UTF-8 sequences, each byte that is not part of a well-formed
/// sequence replaced by U+FFFD. PostgreSQL refuses text that is not UTF-8
/// (SQLite keeps any bytes), and a client's header must not turn its
/// request into a 500.
std::string stored_user_agent(std::string_view header);

/// The request's client as flows see it (audits, sessions, lockout); its
/// notes go to the access log line.
requester requester_of(const context_ptr& ctx);

/// What the session actor needs to open a session for `user` signed in by
/// `amr`. A bearer token on the sign-in request goes along: the session
/// actor re-authenticates that session when the token is valid and of the
/// same user (issue #11, Medium 3), and ignores it otherwise.
new_session sign_in_request(const context_ptr& ctx, user_info user,
                            const char* amr);

/// The write a refusal makes when it has no failure to record (unknown
/// address, locked account): db::lockout_store::timing_pad, so its commit
/// costs what a recorded failure's does and the answer's timing does not
/// tell whether the address has an account.
db::unit timing_pad_unit(const context_ptr& ctx);

/// Seconds since the epoch on the service's clock (services::clock).
std::int64_t unix_now(const context_ptr& ctx);

/// Maps a failed DB unit to the client-facing code, logging the unexpected.
void reply_db_failure(const context_ptr& ctx, const db::unit_result& r,
                      const std::string& fallback_code);

/// Runs one read on the DB actor and hands the rows to `then` (exceptions
/// in `then` become a 500 through `guarded`).
template <class F>
void db_read(const context_ptr& ctx, db::statement s, F then) {
  safe_request(ctx->self, ctx->svc().db, db_timeout, atom::query_atom_v,
               std::move(s))
      .then([ctx,
             then](db::rowset& rs) mutable { guarded(ctx, [&] { then(rs); }); },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
}

/// Runs one unit (all or nothing) on the DB actor; `then` sees its result.
template <class F>
void db_write(const context_ptr& ctx, db::unit u, F then) {
  safe_request(ctx->self, ctx->svc().db, db_timeout, atom::write_atom_v,
               std::move(u))
      .then([ctx, then](
                db::unit_result& r) mutable { guarded(ctx, [&] { then(r); }); },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
}

/// Opens a session for `user` and hands the token result to `then`.
template <class F>
void open_session(const context_ptr& ctx, user_info user, const char* amr,
                  F then) {
  safe_request(ctx->self, ctx->svc().sessions, db_timeout,
               sign_in_request(ctx, std::move(user), amr))
      .then([ctx,
             then](token_result& r) mutable { guarded(ctx, [&] { then(r); }); },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
}

/// Revokes sessions at the session actor and hands `then` how many were
/// live.
void revoke_then(const context_ptr& ctx, revocation rv,
                 std::function<void(std::int32_t)> then);

/// Answers 204 No Content.
void no_content(const context_ptr& ctx);

/// "2026-11-28 21:05 UTC": times shown in mails.
std::string utc_time(std::int64_t t);

/// The language of a notice mail to `user` (their saved locale, else the
/// request's Accept-Language, else the configured default).
std::string notice_locale(const context_ptr& ctx, const user_info& user);

/// Queues the "sessions_revoked" notice to `user` (the mailer is woken
/// once it committed) and then calls `then`. `by_user`: the request came
/// from the user, so its IP and device are shown.
void notify_sessions_revoked(const context_ptr& ctx, const user_info& user,
                             std::int32_t count, bool by_user,
                             const std::function<void()>& then);

/// The "account_deleted" notice to `user`, for the unit that deletes the
/// account (drop the queued mail first: it must not outlive the account).
db::statement account_deleted_mail(const context_ptr& ctx,
                                   const user_info& user, std::int64_t now);

} // namespace authsvc::http_routes
