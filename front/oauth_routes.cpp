#include "front/oauth_routes.hpp"

#include <set>

#include "actors/caf_errors.hpp"
#include "actors/safe_request.hpp"
#include "actors/session_errc.hpp"
#include "auth/crypto.hpp"
#include "auth/jws.hpp"
#include "auth/oauth.hpp"
#include "db/oauth_store.hpp"
#include "db/users_store.hpp"
#include "front/browser_session.hpp"
#include "front/middleware.hpp"
#include "front/oauth_client_auth.hpp"
#include "front/pages.hpp"
#include "front/route_helpers.hpp"
#include "auth/totp.hpp"
#include "auth/url.hpp"

namespace authsvc::http_routes {

namespace {

namespace oauth = auth::oauth;
namespace store = db::oauth_store;

/// Authorization codes live 60 seconds (issue 16; RFC 6749 §4.1.2 says at
/// most 10 minutes, shorter is safer: the client redeems at once).
constexpr std::int64_t code_ttl = 60;

std::string issuer(const context_ptr& ctx) {
  return ctx->cfg().tokens.issuer;
}

void count_authorization(const context_ptr& ctx, const char* outcome) {
  caf::anon_send(ctx->svc().metrics,
                 metrics::inc("oauth_authorizations_total", {outcome}));
}

void count_token(const context_ptr& ctx, const std::string& grant,
                 const std::string& result) {
  caf::anon_send(ctx->svc().metrics,
                 metrics::inc("oauth_tokens_total", {grant, result}));
}

/// The error page of an authorization request that must not redirect
/// (unknown client, unregistered redirect URI: RFC 6749 §4.1.2.1).
void error_page(const context_ptr& ctx, const oauth::authorize_error& e) {
  count_authorization(ctx, "error");
  ctx->log_fields["oauth_error"] = e.error;
  ctx->reply(http::page_response(400, "link_result",
                                 {{"title", "This sign-in request is invalid"},
                                  {"message", e.description},
                                  {"ok", false},
                                  {"error", e.error}}));
}

/// A 302 (303 after a form post) to `location`, never cached.
void redirect_to(const context_ptr& ctx, const std::string& location,
                 std::uint16_t status = 302) {
  http::response r;
  r.status = status;
  r.set_header("Location", location);
  r.set_header("Cache-Control", "no-store");
  ctx->reply(std::move(r));
}

/// The answer of an authorization request to the client's redirect URI:
/// `params`, then state and iss (RFC 9207).
void redirect_back(const context_ptr& ctx, const oauth::authorize_params& p,
                   std::vector<std::pair<std::string, std::string>> params,
                   std::uint16_t status = 302) {
  if (!p.state.empty())
    params.emplace_back("state", p.state);
  params.emplace_back("iss", issuer(ctx));
  redirect_to(ctx, oauth::with_query(p.redirect_uri, params), status);
}

void redirect_error(const context_ptr& ctx, const oauth::authorize_params& p,
                    const std::string& error, const std::string& description,
                    std::uint16_t status = 302) {
  count_authorization(ctx, "error");
  ctx->log_fields["oauth_error"] = error;
  redirect_back(ctx, p, {{"error", error}, {"error_description", description}},
                status);
}

oauth::client_view view_of(const store::client_row& c) {
  return {c.id, c.type == "public", c.disabled, c.redirect_uris};
}

/// The checked request and its client, from the authorization request's
/// query text `query` (also what the consent form posts back).
struct checked_request {
  store::client_row client;
  oauth::authorize_params params;
};

/// Reads the client of `query`, checks the whole request and calls `then`
/// with it; answers every refusal itself (error page or error redirect).
template <class F>
void check_request(const context_ptr& ctx, const std::string& query,
                   std::uint16_t redirect_status, F then) {
  oauth::raw_query q{http::parse_form(query)};
  auto id = q.get("client_id").value_or("");
  if (id.empty() || id.size() > 200) {
    return error_page(ctx, {"invalid_request", "client_id is missing", false});
  }
  db_read(ctx, store::get_client(id),
          [ctx, q, redirect_status, then](db::rowset& rs) mutable {
            auto client = store::decode_client(rs);
            std::optional<oauth::client_view> view;
            if (client)
              view = view_of(*client);
            if (auto e = oauth::check_client_and_redirect(q, view))
              return error_page(ctx, *e);
            auto checked = oauth::check_authorize_request(q, *view);
            if (auto* e = std::get_if<oauth::authorize_error>(&checked)) {
              oauth::authorize_params p;
              p.redirect_uri = q.get("redirect_uri").value_or("");
              p.state = q.get("state").value_or("");
              return redirect_error(ctx, p, e->error, e->description,
                                    redirect_status);
            }
            then(checked_request{std::move(*client),
                                 std::get<oauth::authorize_params>(checked)});
          });
}

/// `query` without its prompt and max_age parameters, plus max_age=300:
/// what the sign-in page returns to after a forced fresh sign-in, so that
/// prompt=login or a small max_age does not ask again and again (the sign-in
/// just made is fresh; the ID token's auth_time tells the client when).
std::string after_fresh_sign_in(const std::string& query) {
  std::string out;
  for (const auto& [k, v] : http::parse_form(query)) {
    if (k == "prompt" || k == "max_age")
      continue;
    out += (out.empty() ? "" : "&") + auth::percent_encode(k) + "="
           + auth::percent_encode(v);
  }
  return out + "&max_age=300";
}

/// No (fresh enough) browser session: to the hosted sign-in page, which
/// comes back here (o2's /login?return_to=).
void to_sign_in(const context_ptr& ctx, const checked_request& r,
                const std::string& query, bool fresh) {
  if (r.params.prompt == "none")
    return redirect_error(ctx, r.params, "login_required",
                          "the user is not signed in");
  count_authorization(ctx, "login");
  auto back
      = "/oauth2/authorize?" + (fresh ? after_fresh_sign_in(query) : query);
  std::vector<std::pair<std::string, std::string>> params{{"return_to", back}};
  if (!r.params.login_hint.empty())
    params.emplace_back("login_hint", r.params.login_hint);
  redirect_to(ctx, oauth::with_query("/login", params));
}

/// Issues the code for `s` and sends the browser back to the client.
void issue_code(const context_ptr& ctx, const checked_request& r,
                const browser::browser_session& s, std::uint16_t status = 302) {
  auto code = auth::random_token(32);
  auto now = unix_now(ctx);
  store::code_row row;
  row.code_hash = auth::token_hash(code);
  row.client_id = r.client.id;
  row.user_id = s.user_id;
  row.browser_session_id = s.session_id;
  row.redirect_uri = r.params.redirect_uri;
  row.scope = oauth::join_scope(r.params.scopes);
  row.nonce = r.params.nonce;
  row.code_challenge = r.params.code_challenge;
  row.auth_time = s.auth_time;
  row.amr = s.amr;
  row.created_at = now;
  row.expires_at = now + code_ttl;
  db::unit u;
  u.statements.push_back(store::insert_code(row));
  db_write(ctx, std::move(u),
           [ctx, r, s, code, row, status](db::unit_result& w) {
             if (!w.ok)
               return ctx->reply_internal("oauth code insert failed: "
                                          + w.fail_code);
             count_authorization(ctx, "code");
             ctx->audit("oauth.authorized", true, s.user_id, s.user.email,
                        {{"client_id", r.client.id},
                         {"scope", row.scope},
                         {"session_id", s.session_id}});
             redirect_back(ctx, r.params, {{"code", code}}, status);
           });
}

/// What the consent page says of each scope.
std::string scope_text(const std::string& s) {
  if (s == "openid")
    return "Know who you are (your account id)";
  if (s == "email")
    return "See your email address";
  if (s == "profile")
    return "See your display name";
  if (s == "offline_access")
    return "Stay signed in when you are away";
  return s;
}

void consent_page(const context_ptr& ctx, const checked_request& r,
                  const browser::browser_session& s, const std::string& query) {
  count_authorization(ctx, "consent");
  nlohmann::json scopes = nlohmann::json::array();
  for (const auto& sc : r.params.scopes)
    scopes.push_back({{"name", sc}, {"text", scope_text(sc)}});
  auto page = http::page_response(200, "oauth_consent",
                                  {{"client_name", r.client.name},
                                   {"email", s.user.email},
                                   {"scopes", scopes},
                                   {"csrf_token", s.csrf_token},
                                   {"request", query}});
  // Browsers hold the redirects that follow a form post to form-action
  // too: the post ends at the client's redirect URI, so its origin is
  // allowed on this page (and only on this one).
  if (auto target = auth::parse_url(r.params.redirect_uri)) {
    auto csp = std::string(page.header("Content-Security-Policy"));
    const std::string self = "form-action 'self'";
    if (auto at = csp.find(self); at != std::string::npos) {
      csp.insert(at + self.size(), " " + target->origin());
      page.set_header("Content-Security-Policy", csp);
    }
  }
  ctx->reply(std::move(page));
}

/// A signed-in user's authorization request: consent (for third-party
/// clients, once per scope set), then the code.
void authorize_signed_in(const context_ptr& ctx, const checked_request& r,
                         const browser::browser_session& s,
                         const std::string& query) {
  if (r.client.first_party)
    return issue_code(ctx, r, s);
  db_read(ctx, store::get_consent(s.user_id, r.client.id),
          [ctx, r, s, query](db::rowset& rs) {
            auto granted = store::decode_consent(rs);
            bool covered = false;
            if (granted && r.params.prompt != "consent") {
              auto have = oauth::parse_scope(*granted).value_or(
                  std::set<std::string>{});
              covered = std::includes(have.begin(), have.end(),
                                      r.params.scopes.begin(),
                                      r.params.scopes.end());
            }
            if (covered)
              return issue_code(ctx, r, s);
            if (r.params.prompt == "none")
              return redirect_error(ctx, r.params, "consent_required",
                                    "the user has not allowed this client");
            consent_page(ctx, r, s, query);
          });
}

// -- the token endpoint's answers ---------------------------------------------

/// An RFC 6749 §5.2 error: JSON, never cached; invalid_client is a 401
/// with a Basic challenge (the method every confidential client may use,
/// whichever it tried).
void token_error(const context_ptr& ctx, const std::string& grant,
                 const std::string& error, const std::string& description) {
  count_token(ctx, grant.empty() ? "unknown" : grant, error);
  ctx->log_fields["oauth_error"] = error;
  auto status = std::uint16_t{400};
  if (error == "invalid_client")
    status = 401;
  auto r = http::json_response(
      status, {{"error", error}, {"error_description", description}});
  r.set_header("Cache-Control", "no-store");
  r.set_header("Pragma", "no-cache");
  if (status == 401)
    r.set_header("WWW-Authenticate", "Basic realm=\"oauth2\"");
  ctx->reply(std::move(r));
}

void token_success(const context_ptr& ctx, const std::string& grant,
                   const token_response& t, bool with_refresh) {
  count_token(ctx, grant, "issued");
  nlohmann::json body{{"access_token", t.access_token},
                      {"token_type", "Bearer"},
                      {"expires_in", t.expires_in},
                      {"scope", t.scope}};
  if (!t.id_token.empty())
    body["id_token"] = t.id_token;
  if (with_refresh)
    body["refresh_token"] = t.refresh_token;
  auto r = http::json_response(200, body);
  r.set_header("Cache-Control", "no-store");
  r.set_header("Pragma", "no-cache");
  ctx->reply(std::move(r));
}

bool has_offline_access(const std::string& scope) {
  auto s = oauth::parse_scope(scope);
  return s && s->count("offline_access");
}

/// Revokes the session a replayed code issued (RFC 6749 §4.1.2: "SHOULD
/// revoke all tokens previously issued based on that authorization code").
void revoke_replayed(const context_ptr& ctx, const store::code_row& code,
                     const std::string& session_id) {
  ctx->audit("oauth.code_replayed", false, code.user_id, {},
             {{"client_id", code.client_id}, {"session_id", session_id}});
  if (session_id.empty())
    return;
  caf::anon_send(
      ctx->svc().sessions, atom::revoke_atom_v,
      make_revocation(ctx, session_id, {}, {}, "authorization_code_replayed"));
}

void record_issue(const context_ptr& ctx, const store::code_row& row,
                  const token_response& t);

void exchange_code(const context_ptr& ctx, const form_t& form,
                   const store::client_row& client) {
  const std::string grant = "authorization_code";
  auto code = http::form_value(form, "code").value_or("");
  auto redirect_uri = http::form_value(form, "redirect_uri").value_or("");
  auto verifier = http::form_value(form, "code_verifier").value_or("");
  if (code.empty() || code.size() > 200)
    return token_error(ctx, grant, "invalid_request", "code is missing");
  auto now = unix_now(ctx);
  db::unit u;
  u.statements.push_back(store::consume_code(auth::token_hash(code), now));
  db_write(ctx, std::move(u), [=](db::unit_result& r) {
    if (!r.ok)
      return ctx->reply_internal("oauth code read failed: " + r.fail_code);
    auto row = store::decode_code(r.results.front());
    if (!row)
      return token_error(ctx, grant, "invalid_grant", "unknown code");
    if (row->replayed) {
      revoke_replayed(ctx, *row, row->issued_session_id);
      return token_error(ctx, grant, "invalid_grant",
                         "the code was used before; what it issued is "
                         "revoked");
    }
    if (row->client_id != client.id)
      return token_error(ctx, grant, "invalid_grant",
                         "the code was issued to another client");
    if (row->expires_at <= now)
      return token_error(ctx, grant, "invalid_grant", "the code expired");
    if (row->redirect_uri != redirect_uri)
      return token_error(ctx, grant, "invalid_grant",
                         "redirect_uri differs from the authorization "
                         "request's");
    if (!row->code_challenge.empty()) {
      if (!oauth::pkce_s256_matches(verifier, row->code_challenge))
        return token_error(ctx, grant, "invalid_grant",
                           "code_verifier does not match the challenge");
    } else if (!verifier.empty()) {
      return token_error(ctx, grant, "invalid_grant",
                         "code_verifier without a code_challenge");
    }
    db_read(
        ctx, db::users_store::read_active(row->user_id), [=](db::rowset& rs) {
          if (rs.empty())
            return token_error(ctx, grant, "invalid_grant",
                               "the account is disabled or gone");
          new_session ns;
          ns.user = db::users_store::decode_user(rs);
          ns.amr = row->amr;
          ns.ip = ctx->client_ip;
          ns.user_agent = user_agent(ctx);
          ns.client_id = client.id;
          ns.scope = row->scope;
          ns.auth_time = row->auth_time;
          ns.nonce = row->nonce;
          ns.id_token_alg = client.id_token_alg;
          safe_request(ctx->self, ctx->svc().sessions, db_timeout,
                       std::move(ns))
              .then(
                  [=](token_result& t) {
                    if (!t.error.empty())
                      return token_error(ctx, grant, "server_error", t.error);
                    record_issue(ctx, *row, t.tokens);
                  },
                  [ctx](caf::error& e) { ctx->reply_failure(e); });
        });
  });
}

/// Stores which session the code opened; a replay that raced the exchange
/// (it saw no session to revoke) is caught here and the session revoked.
void record_issue(const context_ptr& ctx, const store::code_row& row,
                  const token_response& t) {
  db::unit u;
  auto s = store::set_issued_session(row.code_hash, t.session_id);
  s.sql += " RETURNING uses";
  u.statements.push_back(std::move(s));
  db_write(ctx, std::move(u), [ctx, row, t](db::unit_result& r) {
    if (!r.ok || r.results.front().empty()
        || r.results.front().at(0, "uses").i > 1) {
      revoke_replayed(ctx, row, t.session_id);
      return token_error(ctx, "authorization_code", "invalid_grant",
                         "the code was used twice");
    }
    ctx->audit("oauth.token_issued", true, row.user_id, t.user.email,
               {{"client_id", row.client_id},
                {"grant_type", "authorization_code"},
                {"session_id", t.session_id},
                {"scope", row.scope}});
    token_success(ctx, "authorization_code", t, has_offline_access(row.scope));
  });
}

void refresh_grant(const context_ptr& ctx, const form_t& form,
                   const store::client_row& client) {
  const std::string grant = "refresh_token";
  auto token = http::form_value(form, "refresh_token").value_or("");
  if (token.empty() || token.size() > 512)
    return token_error(ctx, grant, "invalid_request",
                       "refresh_token is missing");
  if (auto scope = http::form_value(form, "scope")) {
    // A narrower scope on refresh is not supported: only the same one.
    if (!oauth::parse_scope(*scope))
      return token_error(ctx, grant, "invalid_scope", "scope is malformed");
  }
  refresh_request req{token, ctx->client_ip, user_agent(ctx), client.id,
                      client.id_token_alg};
  safe_request(ctx->self, ctx->svc().sessions, db_timeout, atom::refresh_atom_v,
               std::move(req))
      .then(
          [ctx, grant, client](token_result& r) {
            if (!r.error.empty())
              return token_error(ctx, grant, "invalid_grant", r.error);
            ctx->audit("oauth.token_issued", true, r.tokens.user.id,
                       r.tokens.user.email,
                       {{"client_id", client.id},
                        {"grant_type", grant},
                        {"session_id", r.tokens.session_id}});
            token_success(ctx, grant, r.tokens, true);
          },
          [ctx, grant](caf::error& e) {
            auto err = from_caf(e);
            if (err.domain() != error_domain::session)
              return ctx->reply_failure(e);
            if (err.is(session_errc::refresh_token_reused))
              ctx->log_fields["refresh"] = "reuse_detected";
            token_error(ctx, grant, "invalid_grant",
                        "the refresh token is invalid, expired or revoked");
          });
}

/// The form body of a token, revocation or consent request, or nullopt
/// after answering (wrong media type).
std::optional<form_t> form_body(const context_ptr& ctx,
                                const std::string& grant) {
  if (!http::has_media_type(ctx->req, "application/x-www-form-urlencoded")) {
    token_error(ctx, grant, "invalid_request",
                "the body must be application/x-www-form-urlencoded");
    return std::nullopt;
  }
  auto form = http::parse_form(ctx->req.body);
  std::set<std::string> seen;
  for (const auto& [k, v] : form)
    if (!seen.insert(k).second) {
      token_error(ctx, grant, "invalid_request", k + " is repeated");
      return std::nullopt;
    }
  return form;
}

/// An RFC 6750 §3 refusal of a bearer token.
void bearer_refusal(const context_ptr& ctx, std::uint16_t status,
                    const std::string& error, const std::string& description) {
  auto r = http::json_response(
      status, {{"error", error}, {"error_description", description}});
  r.set_header("WWW-Authenticate", "Bearer error=\"" + error
                                       + "\", error_description=\""
                                       + description + "\"");
  r.set_header("Cache-Control", "no-store");
  ctx->reply(std::move(r));
}

/// The iat of a compact JWS, read before its signature is checked (only to
/// check the signature as of that time); 0 when unreadable.
std::int64_t hint_issued_at(const std::string& jws) {
  auto a = jws.find('.');
  auto b = a == std::string::npos ? a : jws.find('.', a + 1);
  if (b == std::string::npos || jws.size() > auth::max_jws_size)
    return 0;
  auto raw
      = auth::base64url_decode(std::string_view(jws).substr(a + 1, b - a - 1));
  if (!raw)
    return 0;
  auto c = nlohmann::json::parse(auth::to_string(*raw), nullptr, false);
  if (!c.is_object() || !c["iat"].is_number_integer())
    return 0;
  return c["iat"].get<std::int64_t>();
}

void signed_out_page(const context_ptr& ctx) {
  ctx->reply(http::page_response(200, "link_result",
                                 {{"title", "You are signed out"},
                                  {"message", "You can close this window."},
                                  {"ok", true}}));
}

/// After the hint checked out: ends the client's session named by the
/// hint (`sid`) and the browser session, then goes back to the client's
/// registered post-logout URI, or shows the signed-out page.
void logout_continue(const context_ptr& ctx, const std::string& client_id,
                     const std::string& sid, const std::string& target,
                     const std::string& state) {
  auto finish = [ctx, client_id, target, state] {
    if (target.empty() || client_id.empty())
      return signed_out_page(ctx);
    db_read(ctx, store::get_client(client_id),
            [ctx, target, state](db::rowset& rs) {
              auto c = store::decode_client(rs);
              // Exact match against the client's registration, else no
              // redirect at all (an open redirector otherwise).
              if (!c
                  || !oauth::redirect_registered(target,
                                                 c->post_logout_redirect_uris))
                return ctx->reply(http::page_response(
                    400, "link_result",
                    {{"title", "You are signed out"},
                     {"message", "post_logout_redirect_uri is not "
                                 "registered for this client."},
                     {"ok", false},
                     {"error", "invalid_request"}}));
              std::vector<std::pair<std::string, std::string>> params;
              if (!state.empty())
                params.emplace_back("state", state);
              redirect_to(ctx, oauth::with_query(target, params));
            });
  };
  auto end_browser = [ctx, finish] {
    browser::resolve_browser_session(
        ctx, [ctx, finish](std::optional<browser::browser_session> s) {
          if (!s) {
            browser::clear_browser_cookie(ctx);
            return finish();
          }
          browser::end_browser_session(ctx, *s, "logout", finish);
        });
  };
  // Every logout whose hint checked out is audited, also when the client's
  // session had ended already (revoked by the client first, as relying
  // parties do): the browser session ends here either way.
  auto logged_out = [ctx, client_id, sid](bool client_session_ended) {
    ctx->audit("oauth.logout", true, {}, {},
               {{"client_id", client_id},
                {"client_session_ended", client_session_ended}});
  };
  if (sid.empty()) {
    logged_out(false);
    return end_browser();
  }
  // The client's own session goes too (sid names it in its ID tokens).
  safe_request(ctx->self, ctx->svc().sessions, db_timeout, atom::lookup_atom_v,
               sid)
      .then(
          [ctx, sid, end_browser,
           logged_out](std::vector<session_view>& found) {
            if (found.empty()) {
              logged_out(false);
              return end_browser();
            }
            auto rv = make_revocation(ctx, sid, {}, {}, "logout");
            revoke_then(ctx, rv, [end_browser, logged_out](std::int32_t) {
              logged_out(true);
              end_browser();
            });
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

} // namespace

// -- discovery ----------------------------------------------------------------

void oidc_discovery(const context_ptr& ctx) {
  const auto& base = ctx->cfg().server.public_url;
  auto iss = issuer(ctx);
  nlohmann::json doc{
      {"issuer", iss},
      {"authorization_endpoint", base + "/oauth2/authorize"},
      {"token_endpoint", base + "/oauth2/token"},
      {"userinfo_endpoint", base + "/oauth2/userinfo"},
      {"jwks_uri", base + "/.well-known/jwks.json"},
      {"revocation_endpoint", base + "/oauth2/revoke"},
      {"end_session_endpoint", base + "/oauth2/logout"},
      {"response_types_supported", {"code"}},
      {"response_modes_supported", {"query"}},
      {"grant_types_supported", {"authorization_code", "refresh_token"}},
      {"subject_types_supported", {"public"}},
      {"code_challenge_methods_supported", {"S256"}},
      {"id_token_signing_alg_values_supported", {"RS256", "ES256"}},
      {"token_endpoint_auth_methods_supported",
       {"client_secret_basic", "client_secret_post", "none"}},
      {"revocation_endpoint_auth_methods_supported",
       {"client_secret_basic", "client_secret_post", "none"}},
      {"scopes_supported", oauth::supported_scopes()},
      {"claims_supported", oauth::supported_claims()},
      {"prompt_values_supported", {"none", "login", "consent"}},
      {"authorization_response_iss_parameter_supported", true},
      {"request_parameter_supported", false},
      {"request_uri_parameter_supported", false},
      {"claims_parameter_supported", false}};
  auto r = http::json_response(200, doc);
  r.set_header("Cache-Control", "public, max-age=300");
  ctx->reply(std::move(r));
}

// -- authorization ------------------------------------------------------------

void oauth_authorize(const context_ptr& ctx) {
  auto query = std::string(ctx->req.query());
  check_request(ctx, query, 302, [ctx, query](const checked_request& r) {
    browser::resolve_browser_session(
        ctx, [ctx, r, query](std::optional<browser::browser_session> s) {
          if (!s)
            return to_sign_in(ctx, r, query, false);
          auto now = unix_now(ctx);
          // max_age=0 is never met by an earlier sign-in (OIDC Core
          // §3.1.2.1: like prompt=login).
          bool stale = r.params.max_age
                       && (*r.params.max_age == 0
                           || now - s->auth_time > *r.params.max_age);
          if (r.params.prompt == "login" || stale) {
            if (r.params.prompt == "none")
              return redirect_error(ctx, r.params, "login_required",
                                    "a fresh sign-in is required");
            return to_sign_in(ctx, r, query, true);
          }
          authorize_signed_in(ctx, r, *s, query);
        });
  });
}

void oauth_consent(const context_ptr& ctx) {
  if (!http::has_media_type(ctx->req, "application/x-www-form-urlencoded"))
    return ctx->reply_error("unsupported_media_type");
  auto form = http::parse_form(ctx->req.body);
  auto query = http::form_value(form, "request").value_or("");
  auto decision = http::form_value(form, "decision").value_or("");
  auto csrf = http::form_value(form, "csrf_token").value_or("");
  browser::resolve_browser_session(
      ctx,
      [ctx, query, decision, csrf](std::optional<browser::browser_session> s) {
        if (!s)
          return ctx->reply(http::page_response(
              401, "link_result",
              {{"title", "You are signed out"},
               {"message", "Sign in again, then allow the application."},
               {"ok", false},
               {"error", "login_required"}}));
        auto v = browser::check_browser_csrf(
            ctx, *s, browser::submitted_csrf_token(ctx, csrf));
        if (v != auth::csrf_verdict::ok)
          return browser::reply_csrf_refusal(ctx, v, true);
        // The request is checked again as a whole: the form carries it,
        // and a user may hold it for minutes.
        check_request(
            ctx, query, 303, [ctx, s, decision](const checked_request& r) {
              if (decision != "allow")
                return redirect_error(ctx, r.params, "access_denied",
                                      "the user did not allow the request",
                                      303);
              auto scope = oauth::join_scope(r.params.scopes);
              db::unit u;
              u.statements.push_back(store::save_consent(
                  s->user_id, r.client.id, scope, unix_now(ctx)));
              db_write(
                  ctx, std::move(u), [ctx, r, s, scope](db::unit_result& w) {
                    if (!w.ok)
                      return ctx->reply_internal("consent write failed");
                    ctx->audit("oauth.consent_granted", true, s->user_id,
                               s->user.email,
                               {{"client_id", r.client.id}, {"scope", scope}});
                    issue_code(ctx, r, *s, 303);
                  });
            });
      });
}

// -- tokens -------------------------------------------------------------------

void oauth_token(const context_ptr& ctx) {
  auto form = form_body(ctx, {});
  if (!form)
    return;
  auto grant = http::form_value(*form, "grant_type").value_or("");
  if (grant.empty())
    return token_error(ctx, grant, "invalid_request", "grant_type is missing");
  if (grant != "authorization_code" && grant != "refresh_token")
    return token_error(ctx, "other", "unsupported_grant_type",
                       "only authorization_code and refresh_token");
  authenticate_client(
      ctx, *form, [ctx, form, grant](const client_auth_result& a) {
        if (!a.client)
          return token_error(ctx, grant, a.error, a.description);
        if (grant == "authorization_code")
          return exchange_code(ctx, *form, *a.client);
        refresh_grant(ctx, *form, *a.client);
      });
}

void oauth_userinfo(const context_ptr& ctx) {
  std::string token;
  auto authz = ctx->req.header("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (authz.size() > bearer.size() && authz.size() <= 8192
      && http::iequals(authz.substr(0, bearer.size()), bearer))
    token = std::string(authz.substr(bearer.size()));
  else if (ctx->req.method == "POST"
           && http::has_media_type(ctx->req,
                                   "application/x-www-form-urlencoded"))
    token = http::form_value(http::parse_form(ctx->req.body), "access_token")
                .value_or("");
  if (token.empty() || token.size() > 8192)
    return bearer_refusal(ctx, 401, "invalid_request",
                          "a bearer access token is required");
  safe_request(ctx->self, ctx->svc().sessions, db_timeout, atom::verify_atom_v,
               token)
      .then(
          [ctx](auth_result& r) {
            if (!r.error.empty() || r.auth.client_id.empty())
              return bearer_refusal(ctx, 401, "invalid_token",
                                    "the access token is invalid or expired");
            auto scopes = oauth::parse_scope(r.auth.scope)
                              .value_or(std::set<std::string>{});
            if (!scopes.count("openid"))
              return bearer_refusal(ctx, 403, "insufficient_scope",
                                    "the token lacks the openid scope");
            auto body = oauth::userinfo_claims(r.auth.user_id, scopes,
                                               r.auth.user.email, true,
                                               r.auth.user.display_name);
            auto res = http::json_response(200, body);
            res.set_header("Cache-Control", "no-store");
            ctx->reply(std::move(res));
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

void oauth_revoke(const context_ptr& ctx) {
  auto form = form_body(ctx, "revoke");
  if (!form)
    return;
  auto token = http::form_value(*form, "token").value_or("");
  if (token.empty())
    return token_error(ctx, "revoke", "invalid_request", "token is missing");
  authenticate_client(ctx, *form, [ctx, token](const client_auth_result& a) {
    if (!a.client)
      return token_error(ctx, "revoke", a.error, a.description);
    auto client_id = a.client->id;
    auto done = [ctx] {
      count_token(ctx, "revoke", "ok");
      http::response r;
      r.status = 200;
      r.set_header("Cache-Control", "no-store");
      ctx->reply(std::move(r));
    };
    // Which session the token belongs to (an access token, or a refresh
    // token); RFC 7009 §2.2: an unknown token is no error.
    safe_request(ctx->self, ctx->svc().sessions, db_timeout,
                 token_owner_query{token})
        .then(
            [ctx, client_id, done](token_owner& o) {
              if (o.session_id.empty())
                return done();
              if (o.client_id != client_id)
                return token_error(ctx, "revoke", "unauthorized_client",
                                   "the token was issued to another client");
              auto rv = make_revocation(ctx, o.session_id, {}, {},
                                        "revoked_by_client");
              revoke_then(ctx, rv, [ctx, o, client_id, done](std::int32_t) {
                ctx->audit(
                    "oauth.token_revoked", true, o.user_id, {},
                    {{"client_id", client_id}, {"session_id", o.session_id}});
                done();
              });
            },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
  });
}

void oauth_logout(const context_ptr& ctx) {
  auto q = http::parse_form(ctx->req.query());
  auto hint = http::form_value(q, "id_token_hint").value_or("");
  auto target = http::form_value(q, "post_logout_redirect_uri").value_or("");
  auto state = http::form_value(q, "state").value_or("");
  auto client_id = http::form_value(q, "client_id").value_or("");
  // A GET any page can make: without proof that the client the user signed
  // in to asks for it (its ID token), nothing is ended (logout CSRF; the
  // hosted page has its own CSRF-checked sign-out form).
  if (hint.empty() || hint.size() > auth::max_jws_size)
    return ctx->reply(http::page_response(
        400, "link_result",
        {{"title", "This sign-out request is invalid"},
         {"message", "id_token_hint is required: sign out from the "
                     "application, or on the sign-in page."},
         {"ok", false},
         {"error", "invalid_request"}}));
  safe_request(ctx->self, ctx->svc().sessions, db_timeout, atom::jwks_atom_v)
      .then(
          [=](std::string& jwks) {
            // The hint is one of our ID tokens, perhaps expired (OIDC
            // RP-Initiated Logout §2): signature, issuer and audience are
            // checked, expiry is not.
            std::string aud = client_id;
            std::string sid;
            if (!hint.empty()) {
              std::vector<auth::signing_key> keys;
              auto doc = nlohmann::json::parse(jwks, nullptr, false);
              if (doc.is_object() && doc["keys"].is_array())
                for (const auto& k : doc["keys"])
                  if (auto key = auth::signing_key::from_public_jwk(k))
                    keys.push_back(std::move(*key));
              auth::jws_verify_options o;
              o.algorithms = {auth::jws_alg::rs256, auth::jws_alg::es256,
                              auth::jws_alg::eddsa};
              o.issuer = issuer(ctx);
              o.audience_checked_by_caller = true;
              o.require_exp = false;
              // Expiry is not checked (an expired hint is fine): the
              // check runs at the token's own iat.
              o.now = hint_issued_at(hint);
              o.leeway = 0;
              auto claims = auth::verify_jws(hint, keys, o);
              if (!claims) {
                return ctx->reply(http::page_response(
                    400, "link_result",
                    {{"title", "This sign-out request is invalid"},
                     {"message", "The id_token_hint is not one of ours."},
                     {"ok", false},
                     {"error", "invalid_request"}}));
              }
              auto a = claims->value("aud", nlohmann::json());
              auto hinted = a.is_string() ? a.get<std::string>() : "";
              if (!client_id.empty() && hinted != client_id)
                return ctx->reply(http::page_response(
                    400, "link_result",
                    {{"title", "This sign-out request is invalid"},
                     {"message", "client_id and id_token_hint disagree."},
                     {"ok", false},
                     {"error", "invalid_request"}}));
              aud = hinted;
              sid = claims->value("sid", "");
            }
            logout_continue(ctx, aud, sid, target, state);
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

} // namespace authsvc::http_routes
