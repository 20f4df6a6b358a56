#include "http/passkey_routes.hpp"

#include "actors/passkey_flow.hpp"
#include "auth/crypto.hpp"
#include "auth/email_address.hpp"
#include "auth/ids.hpp"
#include "auth/webauthn/credential_json.hpp"
#include "core/log.hpp"
#include "db/users_store.hpp"
#include "db/webauthn_store.hpp"
#include "http/error_table.hpp"
#include "http/lockout.hpp"
#include "http/route_helpers.hpp"

namespace authsvc::http_routes {

namespace {

namespace wa = auth::webauthn;
namespace ws = db::webauthn_store;
namespace pf = passkey_flow;
using nlohmann::json;

constexpr std::size_t max_name = 100;

// -- small helpers ------------------------------------------------------------

bool valid_name(const std::string& s) {
  if (s.empty())
    return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F)
      return false;
  return true;
}

void count_attempt(const context_ptr& ctx, bool ok) {
  caf::anon_send(ctx->svc().metrics,
                 metrics::inc("auth_attempts_total",
                              {"webauthn", ok ? "success" : "failure"}));
}

/// Replies with the options and the challenge's id (never cached).
void reply_options(const context_ptr& ctx, const std::string& challenge_id,
                   json public_key) {
  auto res = http::json_response(200, {{"challenge_id", challenge_id},
                                       {"public_key", std::move(public_key)}});
  res.set_header("Cache-Control", "no-store");
  ctx->reply(std::move(res));
}

/// Stores a planned challenge and replies with its options.
void store_and_reply(const context_ptr& ctx, pf::options_plan plan) {
  auto id = plan.challenge_id;
  auto options = std::move(plan.public_key);
  db_write(ctx, std::move(plan.write),
           [ctx, id, options](db::unit_result& r) {
             if (!r.ok)
               return ctx->reply_internal("challenge insert failed: "
                                          + r.fail_code);
             reply_options(ctx, id, options);
           });
}

/// Consumes a challenge whose ceremony failed (it is single use whatever
/// the outcome), then calls `then`.
template <class F>
void consume_then(const context_ptr& ctx, const std::string& id,
                  const char* purpose, F then) {
  db_write(ctx, ws::consume_challenge(id, purpose),
           [ctx, then](db::unit_result&) mutable {
             guarded(ctx, [&] { then(); });
           });
}

/// Answers a refusal: webauthn_failed carries the verifier's reason.
void reply_rejection(const context_ptr& ctx, const pf::rejection& why) {
  auto e = http::to_api_error(why.code);
  if (why.code == passkey_errc::webauthn_failed)
    e.details = {{"reason", why.reason}};
  ctx->reply_error(e);
}

/// Reads the `credential` member: required, and an object (what is inside
/// is the verifier's to judge, as 400 webauthn_failed).
std::optional<json> credential_member(const json& body, field_errors& errors) {
  auto it = body.find("credential");
  if (it == body.end() || it->is_null()) {
    errors.add("credential", "is required");
    return std::nullopt;
  }
  if (!it->is_object()) {
    errors.add("credential", "must be an object");
    return std::nullopt;
  }
  return *it;
}

/// A counter that did not advance: an audit event and a metric, whether or
/// not configuration rejects the sign-in.
void flag_counter_regression(const context_ptr& ctx, const std::string& user_id,
                             const std::string& credential_id,
                             const pf::counter_regression& c) {
  caf::anon_send(ctx->svc().metrics,
                 metrics::inc("webauthn_sign_count_regressions_total"));
  ctx->audit("passkey.counter_regression", false, user_id, {},
             {{"credential_id", credential_id},
              {"stored_count", c.stored},
              {"received_count", c.received},
              {"rejected", c.rejected}});
  log::warn("webauthn", "counter-regression",
            {{"user_id", user_id},
             {"credential_id", credential_id},
             {"stored", c.stored},
             {"received", c.received},
             {"rejected", c.rejected},
             {"request_id", ctx->request_id}});
}

} // namespace

// -- registration -------------------------------------------------------------

void webauthn_register_options(const context_ptr& ctx) {
  auto user_id = ctx->auth.user_id;
  db_read(ctx, ws::credentials_of(user_id), [ctx, user_id](db::rowset& rs) {
    auto plan = pf::plan_registration_options(
        ctx->cfg(), user_id, ctx->auth.user, ws::decode_credentials(rs),
        auth::random_bytes(pf::challenge_size), auth::uuid_v4(),
        ctx->svc().clock->unix_seconds());
    if (!plan)
      return ctx->reply_error(http::to_api_error(plan.err()));
    store_and_reply(ctx, std::move(*plan));
  });
}

void webauthn_register_verify(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto challenge_id = errors.string(*body, "challenge_id", true, 64);
  auto name = errors.string(*body, "name", false, max_name);
  if (name && !valid_name(*name))
    errors.add("name",
               "must be 1 to 100 characters without control characters");
  auto credential = credential_member(*body, errors);
  if (errors.reply_if_any(ctx))
    return;
  pf::registration_input in;
  in.challenge_id = *challenge_id;
  in.user_id = ctx->auth.user_id;
  in.user = ctx->auth.user;
  in.name = name.value_or("");
  in.ip = ctx->client_ip;
  in.user_agent = user_agent(ctx);
  in.locale = notice_locale(ctx, in.user);
  // Read the challenge without consuming it: the unit that stores the
  // passkey consumes it, so that of two concurrent answers exactly one wins.
  ctx->self
      ->request(ctx->svc().db, db_timeout, atom::query_atom_v,
                ws::registration_facts_of(in.challenge_id, in.user_id))
      .then(
          [ctx, in, credential](db::rowset& rs) {
            guarded(ctx, [&] {
              auto fail = [ctx, in](const pf::rejection& why) {
                auto reason = why.why();
                ctx->log_fields["webauthn_reason"] = reason;
                if (!why.detail.empty())
                  log::info("webauthn", "registration-rejected",
                            {{"reason", reason},
                             {"detail", why.detail},
                             {"request_id", ctx->request_id}});
                ctx->audit("passkey.register_failed", false, in.user_id, {},
                           {{"reason", reason}});
                consume_then(ctx, in.challenge_id, "register",
                             [ctx, why] { reply_rejection(ctx, why); });
              };
              static const std::vector<wa::trust_anchor> no_anchors;
              const auto& anchors = ctx->svc().trust_anchors
                                        ? *ctx->svc().trust_anchors
                                        : no_anchors;
              auto plan = pf::plan_registration(
                  ctx->svc(), anchors, ws::decode_registration_facts(rs), in,
                  *credential, ctx->svc().clock->unix_seconds());
              if (auto* why = std::get_if<pf::rejection>(&plan)) {
                // An unknown challenge (or another user's, which stays
                // theirs) is not consumed.
                if (why->code != passkey_errc::challenge_not_found)
                  return fail(*why);
                ctx->audit("passkey.register_failed", false, in.user_id, {},
                           {{"reason", "challenge_not_found"}});
                return ctx->reply_error(http::to_api_error(why->code));
              }
              auto& p = std::get<pf::registration_plan>(plan);
              db_write(ctx, std::move(p.write),
                       [ctx, fail, cred_id = p.credential_id, fmt = p.fmt,
                        aaguid = p.aaguid](db::unit_result& r) {
                         if (!r.ok) {
                           auto why = pf::registration_unit_failure(r.fail_code);
                           if (!why)
                             return ctx->reply_internal("passkey insert failed: "
                                                        + r.fail_code);
                           if (why->code == passkey_errc::challenge_not_found)
                             return ctx->reply_error(http::to_api_error(why->code));
                           return fail(*why);
                         }
                         ctx->audit("passkey.registered", true, {}, {},
                                    {{"credential_id", cred_id},
                                     {"fmt", fmt},
                                     {"aaguid", aaguid}});
                         caf::anon_send(ctx->svc().mailer, atom::wake_atom_v);
                         ctx->reply_json(
                             201, pf::passkey_json(ws::decode_registered(r)));
                       });
            });
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

// -- sign-in ------------------------------------------------------------------

void webauthn_login_options(const context_ptr& ctx) {
  std::string email;
  if (!ctx->req.body.empty()) {
    auto body = ctx->json_body();
    if (!body)
      return;
    field_errors errors;
    auto in = errors.string(*body, "email", false, 320);
    if (in) {
      auto n = auth::normalise_email(*in);
      if (n)
        email = *n.address;
      else
        errors.add("email", std::string(auth::to_string(n.error)));
    }
    if (errors.reply_if_any(ctx))
      return;
  }
  auto challenge = auth::random_bytes(pf::challenge_size);
  auto challenge_id = auth::uuid_v4();
  if (email.empty())
    return store_and_reply(
        ctx, pf::plan_login_options(ctx->cfg(), ctx->svc().keys->webauthn_decoys,
                                    {}, {}, std::move(challenge),
                                    std::move(challenge_id),
                                    ctx->svc().clock->unix_seconds()));
  // The same read and the same write whether or not the address has an
  // account or passkeys; only the ids in the answer differ.
  db_read(ctx, ws::login_credentials_of(email),
          [ctx, email, challenge, challenge_id](db::rowset& rs) {
            store_and_reply(
                ctx, pf::plan_login_options(
                         ctx->cfg(), ctx->svc().keys->webauthn_decoys, email,
                         ws::decode_login_credentials(rs), challenge,
                         challenge_id, ctx->svc().clock->unix_seconds()));
          });
}

void webauthn_login_verify(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto challenge_id = errors.string(*body, "challenge_id", true, 64);
  auto credential = credential_member(*body, errors);
  if (errors.reply_if_any(ctx))
    return;
  auto id = *challenge_id;
  auto parsed = std::make_shared<wa::result<wa::assertion_response>>(
      wa::parse_assertion_credential(*credential));
  auto cred_id = parsed->ok() ? auth::base64url_encode((*parsed)->raw_id)
                              : std::string{};
  auto source = lockout_source(ctx);
  ctx->self
      ->request(ctx->svc().db, db_timeout, atom::query_atom_v,
                ws::login_facts_of(id, cred_id, source))
      .then([ctx, id, parsed, cred_id, source](db::rowset& rs) {
        guarded(ctx, [&] {
          auto reject = [ctx, id](const pf::rejection& why,
                                  const std::string& user_id) {
            auto reason = why.why();
            count_attempt(ctx, false);
            ctx->log_fields["webauthn_reason"] = reason;
            if (!why.detail.empty())
              log::info("webauthn", "assertion-rejected",
                        {{"reason", reason},
                         {"detail", why.detail},
                         {"request_id", ctx->request_id}});
            ctx->audit("passkey.rejected", false, user_id, {},
                       {{"reason", reason}});
            consume_then(ctx, id, "login",
                         [ctx, why] { reply_rejection(ctx, why); });
          };
          auto plan = pf::plan_login(ctx->cfg(), id, ws::decode_login_facts(rs),
                                     *parsed, cred_id, source,
                                     ctx->svc().clock->unix_seconds());
          if (plan.counter)
            flag_counter_regression(ctx, plan.user_id, cred_id, *plan.counter);
          using action = pf::login_plan::action;
          auto user_id = plan.user_id;
          auto why = plan.why;
          switch (plan.act) {
            case action::refuse:
              count_attempt(ctx, false);
              ctx->audit("passkey.rejected", false, {}, {},
                         {{"reason", "challenge_not_found"}});
              return ctx->reply_error(http::to_api_error(why.code));
            case action::reject:
              return reject(why, user_id);
            case action::reject_source:
              return record_source_failure(
                  ctx, "webauthn", [reject, why] { reject(why, {}); });
            case action::reject_account:
              return record_failure(
                  ctx, user_id, {}, "webauthn",
                  [reject, why, user_id] { reject(why, user_id); });
            case action::sign_in:
              break;
          }
          ctx->self
              ->request(ctx->svc().db, db_timeout, atom::write_atom_v,
                        std::move(plan.write))
              .then(
                  [ctx, reject, cred_id, user_id](db::unit_result& r) {
                    if (!r.ok) {
                      auto why = pf::login_unit_failure(r.fail_code);
                      if (!why)
                        return ctx->reply_internal("passkey sign-in failed: "
                                                   + r.fail_code);
                      if (why->code != passkey_errc::challenge_not_found)
                        return reject(*why, user_id);
                      count_attempt(ctx, false);
                      return ctx->reply_error(http::to_api_error(why->code));
                    }
                    auto user = ws::decode_signed_in_user(r);
                    ctx->self
                        ->request(ctx->svc().sessions, db_timeout,
                                  sign_in_request(ctx, user, "webauthn"))
                        .then(
                            [ctx, user, cred_id](token_result& t) {
                              bool ok = t.error.empty();
                              count_attempt(ctx, ok);
                              ctx->audit("passkey.used", ok, user.id,
                                         user.email,
                                         {{"credential_id", cred_id}});
                              reply_tokens(ctx, t);
                            },
                            [ctx](caf::error& e) { ctx->reply_failure(e); });
                  },
                  [ctx](caf::error& e) { ctx->reply_failure(e); });
        });
      });
}

// -- the user's passkeys ------------------------------------------------------

void passkeys_list(const context_ptr& ctx) {
  db_read(ctx, ws::passkeys_of(ctx->auth.user_id), [ctx](db::rowset& rs) {
    json list = json::array();
    for (const auto& p : ws::decode_passkeys(rs))
      list.push_back(pf::passkey_json(p));
    ctx->reply_json(200, {{"passkeys", list}});
  });
}

void passkey_rename(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errors;
  auto name = errors.string(*body, "name", true, max_name);
  if (name && !valid_name(*name))
    errors.add("name",
               "must be 1 to 100 characters without control characters");
  if (errors.reply_if_any(ctx))
    return;
  auto id = ctx->params["id"];
  // Only the owner's: another user's id matches no row, hence 404.
  db_write(ctx, ws::rename_passkey(id, ctx->auth.user_id, *name),
           [ctx, id](db::unit_result& r) {
             if (!r.ok)
               return reply_db_failure(ctx, r, "not_found");
             ctx->audit("passkey.renamed", true, {}, {},
                        {{"credential_id", id}});
             ctx->reply_json(200, pf::passkey_json(ws::decode_renamed(r)));
           });
}

void passkey_delete(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  db_write(ctx, ws::delete_passkey(id, ctx->auth.user_id),
           [ctx, id](db::unit_result& r) {
             if (!r.ok)
               return reply_db_failure(ctx, r, "not_found");
             ctx->audit("passkey.deleted", true, {}, {},
                        {{"credential_id", id}});
             no_content(ctx);
           });
}

} // namespace authsvc::http_routes
