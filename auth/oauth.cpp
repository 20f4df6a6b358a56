#include "auth/oauth.hpp"

#include <algorithm>

#include "auth/crypto.hpp"
#include "auth/encoding.hpp"
#include "auth/totp.hpp"
#include "auth/url.hpp"

namespace authsvc::auth::oauth {

namespace {

/// RFC 6749 Appendix A.4: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
bool scope_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x5B) || (u >= 0x5D && u <= 0x7E);
}

bool unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
         || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
         || c == '~';
}

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
         || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

authorize_error refuse(std::string error, std::string description,
                       bool redirect) {
  return authorize_error{std::move(error), std::move(description), redirect};
}

} // namespace

const std::vector<std::string>& supported_scopes() {
  static const std::vector<std::string> v{"openid", "email", "profile",
                                          "offline_access"};
  return v;
}

const std::vector<std::string>& supported_claims() {
  static const std::vector<std::string> v{
      "sub", "iss", "aud", "exp",     "iat",   "auth_time",      "nonce",
      "amr", "sid", "azp", "at_hash", "email", "email_verified", "name"};
  return v;
}

std::optional<std::set<std::string>> parse_scope(std::string_view text) {
  if (text.size() > 1000)
    return std::nullopt;
  std::set<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    auto j = i;
    while (j < text.size() && text[j] != ' ') {
      if (!scope_char(text[j]))
        return std::nullopt;
      ++j;
    }
    out.emplace(text.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string join_scope(const std::set<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes)
    out += (out.empty() ? "" : " ") + s;
  return out;
}

bool valid_code_verifier(std::string_view verifier) {
  return verifier.size() >= 43 && verifier.size() <= 128
         && std::all_of(verifier.begin(), verifier.end(), unreserved);
}

bool valid_s256_challenge(std::string_view challenge) {
  return challenge.size() == 43
         && std::all_of(challenge.begin(), challenge.end(), base64url_char);
}

bool pkce_s256_matches(std::string_view verifier, std::string_view challenge) {
  if (!valid_code_verifier(verifier))
    return false;
  auto computed = base64url_encode(sha256(verifier));
  return constant_time_equal(computed, challenge);
}

std::string at_hash(std::string_view access_token) {
  auto digest = sha256(access_token);
  return base64url_encode(digest.data(), digest.size() / 2);
}

bool valid_redirect_uri(std::string_view uri) {
  if (uri.size() > 2000)
    return false;
  auto u = parse_url(uri);
  if (!u || u->has_fragment)
    return false;
  if (u->scheme == "https")
    return true;
  // http only where nobody else can listen: the loopback interface.
  if (u->host == "localhost")
    return true;
  return u->host_address
         && classify_address(*u->host_address) == address_scope::loopback;
}

bool redirect_registered(std::string_view uri,
                         const std::vector<std::string>& registered) {
  return std::any_of(registered.begin(), registered.end(),
                     [&](const std::string& r) { return r == uri; });
}

std::string
with_query(std::string_view uri,
           const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out(uri);
  char sep = out.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [k, v] : params) {
    out += sep;
    out += percent_encode(k);
    out += '=';
    out += percent_encode(v);
    sep = '&';
  }
  return out;
}

std::optional<std::pair<std::string, std::string>>
parse_basic_credentials(std::string_view authorization) {
  constexpr std::string_view scheme = "basic ";
  if (authorization.size() <= scheme.size())
    return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i])
      return std::nullopt;
  auto b64 = authorization.substr(scheme.size());
  while (!b64.empty() && b64.front() == ' ')
    b64.remove_prefix(1);
  auto raw = base64_decode(b64);
  if (!raw)
    return std::nullopt;
  auto text = to_string(*raw);
  auto colon = text.find(':');
  if (colon == std::string::npos)
    return std::nullopt;
  auto id = form_url_decode(std::string_view(text).substr(0, colon));
  auto secret = form_url_decode(std::string_view(text).substr(colon + 1));
  if (!id || !secret || id->empty())
    return std::nullopt;
  return std::make_pair(*id, *secret);
}

std::optional<std::string> raw_query::get(std::string_view name) const {
  for (const auto& [k, v] : pairs)
    if (k == name)
      return v;
  return std::nullopt;
}

std::set<std::string> raw_query::repeated() const {
  std::set<std::string> seen;
  std::set<std::string> twice;
  for (const auto& [k, v] : pairs)
    if (!seen.insert(k).second)
      twice.insert(k);
  return twice;
}

std::optional<authorize_error>
check_client_and_redirect(const raw_query& q,
                          const std::optional<client_view>& client) {
  auto twice = q.repeated();
  auto id = q.get("client_id");
  if (!id || id->empty() || twice.count("client_id"))
    return refuse("invalid_request", "client_id is missing or repeated", false);
  if (!client || client->disabled)
    return refuse("invalid_client", "unknown client_id", false);
  auto uri = q.get("redirect_uri");
  // OIDC Core §3.1.2.1: redirect_uri is required (no default even when
  // only one is registered).
  if (!uri || uri->empty() || twice.count("redirect_uri"))
    return refuse("invalid_request", "redirect_uri is missing or repeated",
                  false);
  if (!redirect_registered(*uri, client->redirect_uris))
    return refuse("invalid_request",
                  "redirect_uri is not registered for this client", false);
  return std::nullopt;
}

std::variant<authorize_params, authorize_error>
check_authorize_request(const raw_query& q, const client_view& client) {
  authorize_params p;
  p.client_id = client.id;
  p.redirect_uri = q.get("redirect_uri").value_or("");
  // RFC 6749 §3.1: parameters must not be repeated.
  for (const auto& name : q.repeated())
    return refuse("invalid_request", name + " is repeated", true);
  if (q.get("request") || q.get("request_uri"))
    return refuse(q.get("request") ? "request_not_supported"
                                   : "request_uri_not_supported",
                  "request objects are not supported", true);
  auto rt = q.get("response_type");
  if (!rt || rt->empty())
    return refuse("invalid_request", "response_type is missing", true);
  if (*rt != "code")
    return refuse("unsupported_response_type", "only response_type=code", true);
  if (auto mode = q.get("response_mode"); mode && *mode != "query")
    return refuse("invalid_request", "only response_mode=query", true);
  auto scope = parse_scope(q.get("scope").value_or(""));
  if (!scope)
    return refuse("invalid_scope", "scope is malformed", true);
  if (!scope->count("openid"))
    return refuse("invalid_scope", "scope must contain openid", true);
  // Unknown scopes are left out (RFC 6749 §3.3 lets the server narrow the
  // request; the token response says what was granted).
  for (const auto& s : *scope)
    if (std::find(supported_scopes().begin(), supported_scopes().end(), s)
        != supported_scopes().end())
      p.scopes.insert(s);
  p.state = q.get("state").value_or("");
  p.nonce = q.get("nonce").value_or("");
  if (p.state.size() > 1000 || p.nonce.size() > 1000)
    return refuse("invalid_request", "state or nonce is longer than 1000",
                  true);
  auto challenge = q.get("code_challenge");
  auto method = q.get("code_challenge_method");
  if (challenge && !challenge->empty()) {
    if (!method || *method != "S256")
      return refuse("invalid_request", "code_challenge_method must be S256",
                    true);
    if (!valid_s256_challenge(*challenge))
      return refuse("invalid_request", "code_challenge is malformed", true);
    p.code_challenge = *challenge;
  } else if (method) {
    return refuse("invalid_request",
                  "code_challenge_method without code_challenge", true);
  } else if (client.is_public) {
    return refuse("invalid_request",
                  "PKCE (code_challenge with S256) is required for public "
                  "clients",
                  true);
  }
  p.prompt = q.get("prompt").value_or("");
  if (!p.prompt.empty() && p.prompt != "none" && p.prompt != "login"
      && p.prompt != "consent")
    return refuse("invalid_request",
                  "prompt must be none, login or consent (one value)", true);
  if (auto ma = q.get("max_age"); ma && !ma->empty()) {
    if (ma->size() > 10 || !std::all_of(ma->begin(), ma->end(), [](char c) {
          return c >= '0' && c <= '9';
        }))
      return refuse("invalid_request", "max_age must be a number of seconds",
                    true);
    p.max_age = std::stoll(*ma);
  }
  p.login_hint = q.get("login_hint").value_or("");
  if (p.login_hint.size() > 320)
    p.login_hint.clear();
  return p;
}

nlohmann::json id_token_claims(const id_token_input& in) {
  nlohmann::json c{{"iss", in.issuer},          {"sub", in.subject},
                   {"aud", in.client_id},       {"azp", in.client_id},
                   {"iat", in.issued_at},       {"exp", in.issued_at + in.ttl},
                   {"auth_time", in.auth_time}, {"amr", in.amr}};
  if (!in.nonce.empty())
    c["nonce"] = in.nonce;
  if (!in.session_id.empty())
    c["sid"] = in.session_id;
  if (!in.access_token.empty())
    c["at_hash"] = at_hash(in.access_token);
  if (in.scopes.count("email")) {
    c["email"] = in.email;
    c["email_verified"] = in.email_verified;
  }
  if (in.scopes.count("profile") && !in.name.empty())
    c["name"] = in.name;
  return c;
}

nlohmann::json userinfo_claims(const std::string& subject,
                               const std::set<std::string>& scopes,
                               const std::string& email, bool email_verified,
                               const std::string& name) {
  nlohmann::json c{{"sub", subject}};
  if (scopes.count("email")) {
    c["email"] = email;
    c["email_verified"] = email_verified;
  }
  if (scopes.count("profile") && !name.empty())
    c["name"] = name;
  return c;
}

} // namespace authsvc::auth::oauth
