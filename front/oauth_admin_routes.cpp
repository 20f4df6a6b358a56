#include "front/oauth_admin_routes.hpp"

#include "actors/safe_request.hpp"
#include "auth/crypto.hpp"
#include "auth/encoding.hpp"
#include "auth/oauth.hpp"
#include "core/log.hpp"
#include "front/middleware.hpp"
#include "front/oauth_client_auth.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::http_routes {

namespace store = db::oauth_store;

namespace oauth_clients {

nlohmann::json client_json(const store::client_row& c) {
  return {{"client_id", c.id},
          {"name", c.name},
          {"type", c.type},
          {"redirect_uris", c.redirect_uris},
          {"post_logout_redirect_uris", c.post_logout_redirect_uris},
          {"first_party", c.first_party},
          {"id_token_signed_response_alg", c.id_token_alg},
          {"token_endpoint_auth_method",
           c.type == "public" ? "none" : "client_secret_basic"},
          {"disabled", c.disabled},
          {"created_at", c.created_at},
          {"updated_at", c.updated_at}};
}

namespace {

/// A list of 1..20 (0..20 when `may_be_empty`) valid redirect URIs.
std::optional<std::vector<std::string>> uri_list(const nlohmann::json& v,
                                                 bool may_be_empty) {
  if (!v.is_array() || v.size() > 20 || (!may_be_empty && v.empty()))
    return std::nullopt;
  std::vector<std::string> out;
  for (const auto& x : v) {
    if (!x.is_string()
        || !auth::oauth::valid_redirect_uri(x.get<std::string>()))
      return std::nullopt;
    out.push_back(x.get<std::string>());
  }
  return out;
}

} // namespace

void apply_fields(const nlohmann::json& body, store::client_row& c,
                  bool creating, nlohmann::json& errors) {
  auto field = [&](const char* name) -> const nlohmann::json* {
    auto it = body.find(name);
    return it == body.end() || it->is_null() ? nullptr : &*it;
  };
  if (auto v = field("name")) {
    if (!v->is_string() || v->get<std::string>().empty()
        || v->get<std::string>().size() > 100)
      errors["name"] = "must be a string of 1 to 100 characters";
    else
      c.name = v->get<std::string>();
  } else if (creating) {
    errors["name"] = "is required";
  }
  if (auto v = field("redirect_uris")) {
    if (auto l = uri_list(*v, false))
      c.redirect_uris = *l;
    else
      errors["redirect_uris"]
          = "must be 1 to 20 absolute https URLs (http only to loopback) "
            "without fragment";
  } else if (creating) {
    errors["redirect_uris"] = "is required";
  }
  if (auto v = field("post_logout_redirect_uris")) {
    if (auto l = uri_list(*v, true))
      c.post_logout_redirect_uris = *l;
    else
      errors["post_logout_redirect_uris"]
          = "must be up to 20 absolute https URLs (http only to loopback)";
  }
  if (auto v = field("type")) {
    if (!creating)
      errors["type"] = "cannot change (register a new client)";
    else if (!v->is_string() || (*v != "confidential" && *v != "public"))
      errors["type"] = "must be confidential or public";
    else
      c.type = v->get<std::string>();
  } else if (creating) {
    errors["type"] = "is required";
  }
  if (auto v = field("first_party")) {
    if (!v->is_boolean())
      errors["first_party"] = "must be a boolean";
    else
      c.first_party = v->get<bool>();
  }
  if (auto v = field("id_token_signed_response_alg")) {
    if (!v->is_string() || (*v != "RS256" && *v != "ES256"))
      errors["id_token_signed_response_alg"] = "must be RS256 or ES256";
    else
      c.id_token_alg = v->get<std::string>();
  }
  if (auto v = field("disabled")) {
    if (!v->is_boolean())
      errors["disabled"] = "must be a boolean";
    else
      c.disabled = v->get<bool>();
  }
}

std::string new_client_id() {
  return "pa_" + auth::random_token(16);
}

std::string new_client_secret() {
  return auth::random_token(32);
}

} // namespace oauth_clients

namespace {

void reply_invalid(const context_ptr& ctx, nlohmann::json details) {
  ctx->reply_error("validation_failed", {}, std::move(details));
}

void client_audit(const context_ptr& ctx, const char* type,
                  const store::client_row& c) {
  ctx->audit(type, true, {}, {},
             {{"client_id", c.id}, {"name", c.name}, {"type", c.type}});
}

} // namespace

void admin_oauth_client_create(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  store::client_row c;
  nlohmann::json errors = nlohmann::json::object();
  oauth_clients::apply_fields(*body, c, true, errors);
  if (!errors.empty())
    return reply_invalid(ctx, errors);
  c.id = oauth_clients::new_client_id();
  c.created_at = c.updated_at = unix_now(ctx);
  std::string secret;
  if (c.type == "confidential") {
    secret = oauth_clients::new_client_secret();
    c.secret_hash = client_secret_hash(*ctx->svc().keys, secret);
  }
  db::unit u;
  u.statements.push_back(store::insert_client(c));
  db_write(ctx, std::move(u), [ctx, c, secret](db::unit_result& r) {
    if (!r.ok)
      return ctx->reply_internal("oauth client insert failed: " + r.fail_code);
    client_audit(ctx, "oauth.client_created", c);
    auto out = oauth_clients::client_json(c);
    if (!secret.empty())
      out["client_secret"] = secret; // shown this once
    auto answer = [ctx, out] {
      auto res = http::json_response(201, out);
      res.set_header("Cache-Control", "no-store");
      ctx->reply(std::move(res));
    };
    // The RS256 ID-token key is made with the first client (issue 16), and
    // is there before the client can ask for a token. The client exists
    // either way: when making the key failed, the next start makes it.
    safe_request(ctx->self, ctx->svc().sessions, db_timeout,
                 atom::id_key_atom_v)
        .then([answer](std::string&) { answer(); },
              [answer](caf::error& e) {
                log::error("oauth", "id-token-key-failed",
                           {{"error", caf::to_string(e)}});
                answer();
              });
  });
}

void admin_oauth_clients(const context_ptr& ctx) {
  auto q = http::parse_form(ctx->req.query());
  std::int64_t limit = 50;
  if (auto l = http::form_value(q, "limit")) {
    try {
      std::size_t pos = 0;
      limit = std::stoll(*l, &pos);
      if (pos != l->size())
        limit = 0;
    } catch (...) {
      limit = 0;
    }
    if (limit < 1 || limit > 200)
      return reply_invalid(ctx, {{"limit", "must be 1 to 200"}});
  }
  // Newest first; the cursor is base64url of "created_at id" of the last
  // client shown (as the other admin lists).
  std::int64_t c_time = INT64_MAX;
  std::string c_id = "\x7f";
  if (auto c = http::form_value(q, "cursor"); c && !c->empty()) {
    auto raw = auth::base64url_decode(*c);
    auto text = raw ? auth::to_string(*raw) : std::string();
    auto sp = text.find(' ');
    bool ok = raw && sp != std::string::npos && sp > 0 && sp < 20;
    if (ok) {
      try {
        std::size_t pos = 0;
        c_time = std::stoll(text.substr(0, sp), &pos);
        ok = pos == sp;
      } catch (...) {
        ok = false;
      }
    }
    if (!ok)
      return reply_invalid(ctx, {{"cursor", "is malformed"}});
    c_id = text.substr(sp + 1);
  }
  db_read(ctx, store::clients_page(c_time, c_id, limit + 1),
          [ctx, limit](db::rowset& rs) {
            auto rows = store::decode_clients(rs);
            nlohmann::json items = nlohmann::json::array();
            auto n = std::min<std::size_t>(rows.size(),
                                           static_cast<std::size_t>(limit));
            for (std::size_t i = 0; i < n; ++i)
              items.push_back(oauth_clients::client_json(rows[i]));
            nlohmann::json next = nullptr;
            if (rows.size() > n)
              next = auth::base64url_encode(
                  std::string_view(std::to_string(rows[n - 1].created_at) + " "
                                   + rows[n - 1].id));
            ctx->reply_json(200, {{"clients", items}, {"next_cursor", next}});
          });
}

void admin_oauth_client_get(const context_ptr& ctx) {
  db_read(ctx, store::get_client(ctx->params["id"]), [ctx](db::rowset& rs) {
    auto c = store::decode_client(rs);
    if (!c)
      return ctx->reply_error("not_found");
    ctx->reply_json(200, oauth_clients::client_json(*c));
  });
}

void admin_oauth_client_patch(const context_ptr& ctx) {
  auto body = ctx->json_body();
  if (!body)
    return;
  db_read(ctx, store::get_client(ctx->params["id"]),
          [ctx, body](db::rowset& rs) {
            auto c = store::decode_client(rs);
            if (!c)
              return ctx->reply_error("not_found");
            nlohmann::json errors = nlohmann::json::object();
            oauth_clients::apply_fields(*body, *c, false, errors);
            if (!errors.empty())
              return reply_invalid(ctx, errors);
            c->updated_at = unix_now(ctx);
            db_write(ctx, store::update_client(*c), [ctx](db::unit_result& r) {
              if (!r.ok && r.fail_code == "not_found")
                return ctx->reply_error("not_found");
              if (!r.ok)
                return ctx->reply_internal("oauth client update "
                                           "failed");
              auto after = store::decode_client(r.results.back());
              if (!after)
                return ctx->reply_error("not_found");
              client_audit(ctx, "oauth.client_updated", *after);
              ctx->reply_json(200, oauth_clients::client_json(*after));
            });
          });
}

void admin_oauth_client_delete(const context_ptr& ctx) {
  auto id = ctx->params["id"];
  db_write(
      ctx, store::delete_client(id, unix_now(ctx)),
      [ctx, id](db::unit_result& r) {
        if (!r.ok && r.fail_code == "not_found")
          return ctx->reply_error("not_found");
        if (!r.ok)
          return ctx->reply_internal("oauth client delete failed");
        ctx->audit("oauth.client_deleted", true, {}, {}, {{"client_id", id}});
        no_content(ctx);
      });
}

} // namespace authsvc::http_routes
