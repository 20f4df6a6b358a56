// The session cache: live sessions indexed by id, refresh token and user,
// and the access-token check against it (signature and claims once per
// token, liveness on every request).
#include "actors/session_internal.hpp"

#include <algorithm>

#include "auth/crypto.hpp"
#include "auth/jws.hpp"
#include "auth/oauth.hpp"
#include "auth/token_claims.hpp"

namespace authsvc {

namespace session_detail {

token_result fail(std::string code) {
  token_result r;
  r.error = std::move(code);
  return r;
}

caf::error refused(session_errc e) {
  return caf::make_error(e);
}

void audit(self_ptr self, std::string type, const std::string& user_id,
           const std::string& ip, const std::string& ua, bool success,
           const nlohmann::json& meta, const std::string& request_id,
           const std::string& actor) {
  audit_event e;
  e.type = std::move(type);
  e.user_id = user_id;
  e.ip = ip;
  e.user_agent = ua;
  e.success = success;
  e.metadata = meta.dump();
  e.request_id = request_id;
  e.actor = actor;
  caf::anon_send(self->state.opts.auditor, std::move(e));
}

void set_active_gauge(self_ptr self) {
  caf::anon_send(
      self->state.metrics,
      metrics::set("active_sessions",
                   static_cast<double>(self->state.sessions.size())));
}

token_response make_response(self_ptr self, const live_session& s,
                             const std::string& refresh_token,
                             const user_info& user, std::int64_t now,
                             const std::string& nonce) {
  token_response t;
  t.access_token = self->state.mint_access_token(s, now);
  t.id_token = self->state.mint_id_token(s, now, t.access_token, nonce);
  t.scope = s.scope;
  t.expires_in = self->state.cfg().tokens.access_ttl;
  t.refresh_token = refresh_token;
  t.refresh_expires_in = std::max<std::int64_t>(0, s.expires_at - now);
  t.session_id = s.id;
  t.user = user;
  return t;
}

} // namespace session_detail

// -- session_state ------------------------------------------------------------

void session_state::index(live_session&& s) {
  auto id = s.id;
  s.seq = ++next_seq;
  by_refresh[s.refresh_hash] = id;
  by_user[s.user_id].insert(id);
  auto& live = sessions[id];
  live = std::move(s);
  publish(live);
}

void session_state::publish(live_session& s) {
  const auto& dir = opts.directory;
  if (!dir)
    return;
  if (auto old = dir->find_session(s.id))
    s.last_seen_at = std::max(s.last_seen_at, old->last_seen.load());
  auto e = std::make_shared<session_directory::session>();
  e->user_id = s.user_id;
  e->amr = s.amr;
  e->created_at = s.created_at;
  e->expires_at = s.expires_at;
  e->absolute_expires_at = s.absolute_expires_at;
  e->refreshed_at = s.refreshed_at;
  e->user = s.user;
  e->client_id = s.client_id;
  e->scope = s.scope;
  e->last_seen.store(s.last_seen_at);
  dir->put_session(s.id, std::move(e));
}

std::int64_t session_state::last_seen(const live_session& s) const {
  if (opts.directory)
    if (auto e = opts.directory->find_session(s.id))
      return std::max(s.last_seen_at, e->last_seen.load());
  return s.last_seen_at;
}

void session_state::forget(const std::string& id) {
  auto it = sessions.find(id);
  if (it == sessions.end())
    return;
  // Out of the fronts' view first: the revocation is effective at once.
  if (opts.directory)
    opts.directory->erase_session(id);
  by_refresh.erase(it->second.refresh_hash);
  auto u = by_user.find(it->second.user_id);
  if (u != by_user.end()) {
    u->second.erase(id);
    if (u->second.empty())
      by_user.erase(u);
  }
  // Refreshes waiting on this session's rotation lose with it.
  for (auto& w : it->second.waiters)
    w.deliver(session_detail::refused(session_errc::invalid_refresh_token));
  sessions.erase(it);
}

std::string session_state::mint_access_token(const live_session& s,
                                             std::int64_t now) const {
  auth::access_token_params p;
  p.issuer = cfg().tokens.issuer;
  // An OAuth client's session: its tokens are for that client (issue 16).
  p.audience = s.client_id.empty() ? cfg().tokens.audience : s.client_id;
  p.subject = s.user_id;
  p.session_id = s.id;
  p.issued_at = now;
  p.ttl = cfg().tokens.access_ttl;
  p.amr = s.amr;
  p.auth_time = s.auth_time;
  auto claims = auth::make_access_token_claims(p);
  auth::merge_custom_claims(claims, s.custom_claims);
  return auth::sign_jws({{"typ", "JWT"}}, claims, signing()->key);
}

std::string session_state::mint_id_token(const live_session& s,
                                         std::int64_t now,
                                         const std::string& access_token,
                                         const std::string& nonce) const {
  if (s.client_id.empty())
    return {};
  auto scopes
      = auth::oauth::parse_scope(s.scope).value_or(std::set<std::string>{});
  if (!scopes.count("openid"))
    return {};
  auto alg
      = auth::parse_jws_alg(s.id_token_alg.empty() ? "RS256" : s.id_token_alg)
            .value_or(auth::jws_alg::rs256);
  const auto* key = keys.signing(alg, now);
  if (!key)
    key = keys.signing(auth::jws_alg::rs256, now);
  if (!key)
    key = signing();
  auth::oauth::id_token_input in;
  in.issuer = cfg().tokens.issuer;
  in.subject = s.user_id;
  in.client_id = s.client_id;
  in.issued_at = now;
  in.ttl = cfg().tokens.access_ttl;
  in.auth_time = s.auth_time;
  in.nonce = nonce;
  in.amr = s.amr;
  in.session_id = s.id;
  in.access_token = access_token;
  in.scopes = scopes;
  in.email = s.user.email;
  // Every account was created by proving control of its address (an email
  // sign-in) or holds one the operator set: the address is verified.
  in.email_verified = true;
  in.name = s.user.display_name;
  auto claims = auth::oauth::id_token_claims(in);
  // Custom claims (auth.access_token_claims) go into ID tokens too.
  auth::merge_custom_claims(claims, s.custom_claims);
  return auth::sign_jws({{"typ", "JWT"}}, claims, key->key);
}

bool session_state::idle(const live_session& s, std::int64_t now) const {
  auto timeout = cfg().auth.session_idle_timeout;
  return timeout > 0 && now - s.refreshed_at >= timeout;
}

auth_result session_state::verify(const std::string& token, std::int64_t now) {
  auth_result out;
  missed_session.clear();
  missed_stale = false;
  auth::jws_verify_options o;
  o.algorithms
      = {auth::jws_alg::es256, auth::jws_alg::rs256, auth::jws_alg::eddsa};
  o.now = now;
  o.leeway = 5;
  o.issuer = cfg().tokens.issuer;
  o.audience = cfg().tokens.audience;
  // Which audience is right depends on the session (ours, or an OAuth
  // client's): checked below, against the session the token names.
  o.audience_checked_by_caller = true;
  auto digest = auth::token_hash(token);
  auto cached = verified.find(digest);
  if (cached == verified.end() || cached->second.expires_at <= now) {
    if (cached != verified.end())
      verified.erase(cached);
    auto key_now = this->now();
    auto claims = auth::verify_jws(
        token, [&](std::string_view kid) { return keys.find(kid, key_now); },
        o);
    if (!claims) {
      out.error = "unauthorized";
      return out;
    }
    const auto& c = *claims;
    if (verified.size() >= 100000) {
      verified.clear();
      if (opts.directory)
        opts.directory->clear_tokens();
    }
    auto iat = c.value("iat", std::int64_t{0});
    // A token minted before auth_time existed counts as signed in at iat.
    auto auth_time
        = c.contains("auth_time") && c["auth_time"].is_number_integer()
              ? c["auth_time"].get<std::int64_t>()
              : iat;
    std::vector<std::string> audience;
    if (auto aud = c.find("aud"); aud != c.end()) {
      if (aud->is_string())
        audience.push_back(aud->get<std::string>());
      else if (aud->is_array())
        for (const auto& a : *aud)
          if (a.is_string())
            audience.push_back(a.get<std::string>());
    }
    cached = verified
                 .emplace(digest,
                          verified_token{c.value("sub", ""), c.value("sid", ""),
                                         iat, c.value("exp", std::int64_t{0}),
                                         c.value("jti", ""), auth_time,
                                         std::move(audience)})
                 .first;
    if (opts.directory) {
      const auto& t = cached->second;
      opts.directory->put_token(
          digest, session_directory::token{t.user_id, t.session_id, t.issued_at,
                                           t.expires_at, t.jti, t.auth_time});
    }
  }
  const auto& v = cached->second;
  auto it = sessions.find(v.session_id);
  // Several nodes (issue 14): the session may have been opened on another
  // node; the caller reads it once (session_sync.cpp) unless it is known
  // not to be live.
  if (it == sessions.end() && shared() && !known_absent(v.session_id, now))
    missed_session = v.session_id;
  if (it == sessions.end() || it->second.user_id != v.user_id
      || it->second.absolute_expires_at <= now) {
    out.error = "unauthorized";
    return out;
  }
  // Our sessions' tokens name our audience; an OAuth client's name the
  // client (and nothing else makes a token of one pass for the other).
  const auto& want = it->second.client_id.empty() ? cfg().tokens.audience
                                                  : it->second.client_id;
  if (std::find(v.audience.begin(), v.audience.end(), want)
      == v.audience.end()) {
    out.error = "unauthorized";
    return out;
  }
  if (idle(it->second, now)) {
    if (shared() && it->second.read_at + 1 < now) {
      // Several nodes: another may have refreshed it; read it again
      // before calling it idle.
      missed_session = it->first;
      missed_stale = true;
      out.error = "unauthorized";
      return out;
    }
    // Over at once; the handler that asked revokes it (end_idle).
    found_idle.push_back(it->first);
    out.error = "unauthorized";
    return out;
  }
  it->second.last_seen_at = now;
  out.auth.user_id = v.user_id;
  out.auth.session_id = v.session_id;
  out.auth.amr = it->second.amr;
  out.auth.issued_at = v.issued_at;
  out.auth.expires_at = v.expires_at;
  out.auth.jti = v.jti;
  out.auth.session_created_at = it->second.created_at;
  out.auth.session_expires_at = it->second.expires_at;
  out.auth.user = it->second.user;
  out.auth.auth_time = v.auth_time;
  out.auth.client_id = it->second.client_id;
  out.auth.scope = it->second.scope;
  return out;
}

} // namespace authsvc
