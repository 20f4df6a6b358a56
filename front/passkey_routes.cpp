#include "front/passkey_routes.hpp"

#include "actors/passkey_flow.hpp"
#include "auth/email_address.hpp"
#include "db/webauthn_store.hpp"
#include "front/error_table.hpp"
#include "front/lockout.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::http_routes {

namespace {

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

/// What the flows need of this request: its audit trail, its log line, its
/// lockout source and its session request.
pf::request_hooks hooks_of(const context_ptr& ctx) {
  pf::request_hooks h;
  h.audit = [ctx](std::string type, bool ok, const std::string& user_id,
                  std::string email, const json& meta) {
    ctx->audit(std::move(type), ok, user_id, std::move(email), meta);
  };
  h.note = [ctx](const std::string& reason) {
    ctx->log_fields["webauthn_reason"] = reason;
  };
  h.record_failure
      = [ctx](const std::string& user_id, const std::function<void()>& then) {
          record_failure(ctx, user_id, {}, "webauthn", then);
        };
  h.record_source_failure = [ctx](const std::function<void()>& then) {
    record_source_failure(ctx, "webauthn", then);
  };
  h.session_request = [ctx](const user_info& user) {
    return sign_in_request(ctx, user, "webauthn");
  };
  h.request_id = ctx->request_id;
  return h;
}

/// Answers a refusal: webauthn_failed carries the verifier's reason, an
/// internal one is logged.
void reply_rejection(const context_ptr& ctx, const pf::rejection& why) {
  if (why.code == passkey_errc::internal)
    return ctx->reply_internal(why.detail);
  auto e = http::to_api_error(why.code);
  if (why.code == passkey_errc::webauthn_failed)
    e.details = {{"reason", why.reason}};
  ctx->reply_error(e);
}

/// The flow's failure callback: an owner that did not answer.
auto on_failure(const context_ptr& ctx) {
  return [ctx](caf::error& e) { ctx->reply_failure(e); };
}

/// Replies with a challenge's options and id (never cached).
void reply_options(const context_ptr& ctx,
                   pf::outcome<pf::options_reply>& o) {
  if (auto* why = std::get_if<pf::rejection>(&o))
    return reply_rejection(ctx, *why);
  auto& r = std::get<pf::options_reply>(o);
  auto res = http::json_response(200, {{"challenge_id", r.challenge_id},
                                       {"public_key", std::move(r.public_key)}});
  res.set_header("Cache-Control", "no-store");
  ctx->reply(std::move(res));
}

} // namespace

// -- registration -------------------------------------------------------------

void webauthn_register_options(const context_ptr& ctx) {
  pf::run_registration_options(
      ctx->self, ctx->svc(), ctx->auth.user_id, ctx->auth.user,
      [ctx](pf::outcome<pf::options_reply>& o) {
        guarded(ctx, [&] { reply_options(ctx, o); });
      },
      on_failure(ctx));
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
  pf::run_registration(
      ctx->self, ctx->svc(), std::move(in), *credential, hooks_of(ctx),
      [ctx](pf::outcome<ws::passkey_record>& o) {
        guarded(ctx, [&] {
          if (auto* why = std::get_if<pf::rejection>(&o))
            return reply_rejection(ctx, *why);
          ctx->reply_json(
              201, pf::passkey_json(std::get<ws::passkey_record>(o)));
        });
      },
      on_failure(ctx));
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
  pf::run_login_options(
      ctx->self, ctx->svc(), email,
      [ctx](pf::outcome<pf::options_reply>& o) {
        guarded(ctx, [&] { reply_options(ctx, o); });
      },
      on_failure(ctx));
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
  pf::login_input in{*challenge_id, std::move(*credential),
                     lockout_source(ctx)};
  pf::run_login(
      ctx->self, ctx->svc(), in, hooks_of(ctx),
      [ctx](pf::outcome<token_result>& o) {
        guarded(ctx, [&] {
          if (auto* why = std::get_if<pf::rejection>(&o))
            return reply_rejection(ctx, *why);
          reply_tokens(ctx, std::get<token_result>(o));
        });
      },
      on_failure(ctx));
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
