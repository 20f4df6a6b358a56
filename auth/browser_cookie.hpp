#pragma once
// The browser session cookie `__Host-pa_session` and its CSRF rules, as
// pure functions (no actors, no I/O): parsing the Cookie header, the
// Set-Cookie values, the per-session CSRF token, and the same-origin check
// of a state-changing request. docs/security.md explains the choices.
//
// The cookie value is `<session id>.<secret>`: the session id (a UUID, not
// a secret: it is listed to the user and carried in tokens as `sid`) finds
// the session in one lookup, and the secret (32 random bytes, base64url)
// is compared in constant time with the SHA-256 stored for it. The CSRF
// token is derived from the secret (HMAC-SHA256 keyed with it), so it is
// per session, changes with the cookie, needs no storage, and cannot be
// computed by a page that cannot read the HttpOnly cookie.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authsvc::auth {

/// The cookie's name. `__Host-` makes browsers refuse it unless it is
/// Secure, has Path=/ and no Domain: no subdomain can set or shadow it.
inline constexpr std::string_view browser_cookie_name = "__Host-pa_session";

/// A cookie value split into its parts (syntax checked, nothing verified).
struct browser_cookie {
  std::string session_id;
  std::string secret;
};

/// A fresh cookie for session `session_id`: the value and the secret's
/// hash to store.
struct minted_browser_cookie {
  browser_cookie cookie;
  std::string secret_hash; ///< hex SHA-256 of the secret (token_hash)
};

minted_browser_cookie mint_browser_cookie(const std::string& session_id);

/// `<session id>.<secret>` as sent in the cookie.
std::string browser_cookie_value(const browser_cookie& c);

/// Finds `__Host-pa_session` in a Cookie header (RFC 6265 §5.4 syntax:
/// `name=value` pairs separated by `;`) and splits its value. nullopt when
/// absent or malformed (a session id that is not 36 characters of hex and
/// dashes, or a secret that is not 43 base64url characters). When the name
/// appears twice (a browser sends both of two same-named cookies), the
/// first well-formed one is taken: `__Host-` cookies cannot be shadowed by
/// a subdomain, so both are ours.
std::optional<browser_cookie> find_browser_cookie(std::string_view header);

/// Whether `secret` hashes to `stored_hash` (constant time).
bool browser_secret_matches(std::string_view secret,
                            std::string_view stored_hash);

/// The Set-Cookie value that stores `value` for `max_age` seconds:
/// HttpOnly, SameSite=Lax, Path=/, no Domain, and Secure when `secure`.
std::string set_browser_cookie(std::string_view value, std::int64_t max_age,
                               bool secure);

/// The Set-Cookie value that deletes the cookie (Max-Age=0, same
/// attributes, so the browser matches it).
std::string clear_browser_cookie(bool secure);

/// The CSRF token of the session whose cookie secret is `secret`:
/// base64url(HMAC-SHA256(secret, "pa-csrf-v1")), 43 characters.
std::string browser_csrf_token(std::string_view secret);

/// Whether `submitted` is the CSRF token of `secret` (constant time).
bool browser_csrf_matches(std::string_view secret, std::string_view submitted);

/// Why a cookie-authenticated state-changing request is refused.
enum class csrf_verdict : std::uint8_t {
  ok,
  cross_site, ///< Origin / Sec-Fetch-Site say another site sent it
  bad_token,  ///< the CSRF token is missing or wrong
};

/// The CSRF rules for a state-changing request authenticated by the
/// cookie: the request must come from our own origin (an `Origin` equal to
/// `public_url`'s origin; when there is no Origin header, `Sec-Fetch-Site`
/// must be `same-origin`; with neither, it is refused), and `submitted`
/// must be the session's CSRF token. Origin is checked first, so a
/// cross-site post is reported as such whatever token it carries.
csrf_verdict check_browser_csrf(std::string_view origin,
                                std::string_view sec_fetch_site,
                                std::string_view public_url,
                                std::string_view secret,
                                std::string_view submitted);

/// The same-origin half of check_browser_csrf, for requests that create a
/// browser session (login CSRF: a page of another site must not sign the
/// browser in to an account of its choosing).
bool browser_request_same_origin(std::string_view origin,
                                 std::string_view sec_fetch_site,
                                 std::string_view public_url);

/// Whether `origin` (e.g. server.public_url) is http(s) to a loopback host:
/// `localhost`, a name under `.localhost`, 127.0.0.0/8 or ::1. Browsers
/// treat such origins as secure contexts even over plain HTTP.
bool loopback_origin(std::string_view origin);

/// Whether `target` is a safe place to continue to after a hosted sign-in
/// (`/login?return_to=`): a same-origin relative path. It must start with a
/// single `/` (not `//` or `/\`, which browsers read as another host), be
/// at most 2048 characters, and pass redirect_allowed() once put on
/// `public_url`'s origin (no backslash, control character, space or
/// non-ASCII octet, no fragment, no `.`/`..` segment, also encoded).
bool return_to_allowed(std::string_view target, std::string_view public_url);

} // namespace authsvc::auth
