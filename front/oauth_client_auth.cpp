#include "front/oauth_client_auth.hpp"

#include "auth/crypto.hpp"
#include "auth/encoding.hpp"
#include "auth/oauth.hpp"
#include "front/middleware.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::http_routes {

std::string client_secret_hash(const key_ring& keys,
                               const std::string& secret) {
  return auth::hex_encode(auth::hmac_sha256(keys.oauth_clients, secret));
}

void authenticate_client(
    const context_ptr& ctx, const form_t& form,
    const std::function<void(const client_auth_result&)>& then) {
  client_auth_result out;
  auto authz = ctx->req.header("Authorization");
  auto form_id = http::form_value(form, "client_id");
  auto form_secret = http::form_value(form, "client_secret");
  std::string id;
  std::optional<std::string> secret;
  if (!authz.empty()) {
    out.basic = true;
    auto creds = auth::oauth::parse_basic_credentials(authz);
    if (!creds) {
      out.error = "invalid_client";
      out.description = "the Authorization header is not valid HTTP Basic";
      return then(out);
    }
    // RFC 6749 §2.3: one method per request.
    if (form_secret || (form_id && *form_id != creds->first)) {
      out.error = "invalid_request";
      out.description = "use one client authentication method";
      return then(out);
    }
    id = creds->first;
    secret = creds->second;
  } else {
    if (!form_id || form_id->empty()) {
      out.error = "invalid_client";
      out.description = "client authentication is required";
      return then(out);
    }
    id = *form_id;
    secret = form_secret;
  }
  if (id.size() > 200) {
    out.error = "invalid_client";
    out.description = "unknown client or wrong credentials";
    return then(out);
  }
  db_read(ctx, db::oauth_store::get_client(id),
          [ctx, out, secret, then](db::rowset& rs) mutable {
            auto c = db::oauth_store::decode_client(rs);
            // Computed for every request, so the time taken does not tell
            // a public client or an unknown id from a wrong secret.
            auto presented
                = client_secret_hash(*ctx->svc().keys, secret.value_or(""));
            bool ok = false;
            if (c && !c->disabled) {
              if (c->type == "public")
                ok = !secret; // a public client has no secret to present
              else
                ok = secret && !c->secret_hash.empty()
                     && auth::constant_time_equal(presented, c->secret_hash);
            }
            if (!ok) {
              out.error = "invalid_client";
              out.description = "unknown client or wrong credentials";
              return then(out);
            }
            out.client = std::move(*c);
            then(out);
          });
}

} // namespace authsvc::http_routes
