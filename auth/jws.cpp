#include "auth/jws.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <stdexcept>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "auth/crypto.hpp"

namespace authsvc::auth {

namespace {

using json = nlohmann::json;

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

struct ecdsa_sig_deleter {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using ecdsa_sig_ptr = std::unique_ptr<ECDSA_SIG, ecdsa_sig_deleter>;

constexpr std::size_t es256_half = 32;

// Numeric dates are accepted between the epoch and the year 9999, so the
// arithmetic below can never overflow.
constexpr std::int64_t max_numeric_date = 253402300799;
constexpr std::int64_t max_leeway = 300;

/// EVP digest name for the algorithm; Ed25519 hashes internally (null).
const char* digest_for(jws_alg alg) {
  return alg == jws_alg::eddsa ? nullptr : "SHA256";
}

/// DER ECDSA-Sig-Value -> raw R||S, each left-padded to 32 bytes (RFC 7518
/// §3.4).
bytes der_to_raw(const bytes& der) {
  const unsigned char* p = der.data();
  ecdsa_sig_ptr sig{d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()))};
  if (!sig)
    throw std::runtime_error("ES256: could not parse DER signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  bytes raw(2 * es256_half);
  if (BN_bn2binpad(r, raw.data(), es256_half) < 0
      || BN_bn2binpad(s, raw.data() + es256_half, es256_half) < 0)
    throw std::runtime_error("ES256: signature component too large");
  return raw;
}

/// Raw R||S -> DER for EVP_DigestVerify; nullopt if not 64 bytes.
std::optional<bytes> raw_to_der(const bytes& raw) {
  if (raw.size() != 2 * es256_half)
    return std::nullopt;
  return ecdsa_raw_to_der(raw);
}

bytes sign_bytes(const signing_key& key, std::string_view input) {
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  std::size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx
      || EVP_DigestSignInit_ex(ctx.get(), nullptr, digest_for(key.alg()),
                               nullptr, nullptr, key.native_handle(), nullptr)
             != 1
      || EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("JWS signing failed");
  }
  bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, data, input.size()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("JWS signing failed");
  }
  sig.resize(len);
  return key.alg() == jws_alg::es256 ? der_to_raw(sig) : sig;
}

bool verify_bytes(const signing_key& key, std::string_view input,
                  const bytes& signature) {
  bytes sig = signature;
  if (key.alg() == jws_alg::es256) {
    auto der = raw_to_der(signature);
    if (!der)
      return false;
    sig = std::move(*der);
  }
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  bool ok = ctx
            && EVP_DigestVerifyInit_ex(ctx.get(), nullptr,
                                       digest_for(key.alg()), nullptr, nullptr,
                                       key.native_handle(), nullptr)
                   == 1
            && EVP_DigestVerify(
                   ctx.get(), sig.data(), sig.size(),
                   reinterpret_cast<const unsigned char*>(input.data()),
                   input.size())
                   == 1;
  ERR_clear_error();
  return ok;
}

/// Decodes one base64url part strictly: no padding, no stray characters.
/// Only the signature may be empty (as in an unsecured "none" token, which
/// must then fail as unsupported_alg rather than as malformed).
std::optional<bytes> decode_part(std::string_view part,
                                 bool allow_empty = false) {
  if ((part.empty() && !allow_empty)
      || part.find('=') != std::string_view::npos)
    return std::nullopt;
  return base64url_decode(part);
}

/// Parses a JSON object, refusing duplicate member names at any depth:
/// nlohmann would keep the last one, while another parser might keep the
/// first, and a signed token must mean the same thing to both.
std::optional<json> parse_object(const bytes& text) {
  std::vector<std::set<std::string>> scopes;
  bool duplicate = false;
  json::parser_callback_t cb
      = [&](int, json::parse_event_t event, json& parsed) {
          switch (event) {
          case json::parse_event_t::object_start:
            scopes.emplace_back();
            break;
          case json::parse_event_t::key:
            if (!scopes.empty()
                && !scopes.back().insert(parsed.get<std::string>()).second)
              duplicate = true;
            break;
          case json::parse_event_t::object_end:
            if (!scopes.empty())
              scopes.pop_back();
            break;
          default:
            break;
          }
          return true;
        };
  auto j = json::parse(text.begin(), text.end(), cb, false);
  if (duplicate || j.is_discarded() || !j.is_object())
    return std::nullopt;
  return j;
}

enum class date_state { absent, invalid, ok };

/// Reads a NumericDate claim (RFC 7519 §2), flooring fractional seconds.
date_state numeric_date(const json& claims, const char* name,
                        std::int64_t& out) {
  auto it = claims.find(name);
  if (it == claims.end())
    return date_state::absent;
  if (it->is_number_unsigned()) {
    auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(max_numeric_date))
      return date_state::invalid;
    out = static_cast<std::int64_t>(v);
    return date_state::ok;
  }
  if (it->is_number_integer()) {
    auto v = it->get<std::int64_t>();
    if (v < 0 || v > max_numeric_date)
      return date_state::invalid;
    out = v;
    return date_state::ok;
  }
  if (it->is_number_float()) {
    auto v = it->get<double>();
    if (!std::isfinite(v) || v < 0 || v > static_cast<double>(max_numeric_date))
      return date_state::invalid;
    out = static_cast<std::int64_t>(std::floor(v));
    return date_state::ok;
  }
  return date_state::invalid;
}

} // namespace

std::string_view to_string(jws_errc e) {
  switch (e) {
  case jws_errc::malformed:
    return "malformed";
  case jws_errc::unsupported_alg:
    return "unsupported_alg";
  case jws_errc::unknown_kid:
    return "unknown_kid";
  case jws_errc::bad_signature:
    return "bad_signature";
  case jws_errc::expired:
    return "expired";
  case jws_errc::not_yet_valid:
    return "not_yet_valid";
  case jws_errc::wrong_issuer:
    return "wrong_issuer";
  case jws_errc::wrong_audience:
    return "wrong_audience";
  }
  return "unknown";
}

std::string sign_jws(const json& header, const json& payload,
                     const signing_key& key) {
  if (!header.is_object() || !payload.is_object())
    throw std::invalid_argument("sign_jws: header and payload must be objects");
  if (!key.has_private_key())
    throw std::logic_error("sign_jws: key has no private part");
  json h = header;
  h["alg"] = std::string{to_string(key.alg())};
  h["kid"] = key.kid();
  if (!h.contains("typ"))
    h["typ"] = "JWT";
  auto input
      = base64url_encode(h.dump()) + '.' + base64url_encode(payload.dump());
  auto sig = sign_bytes(key, input);
  return input + '.' + base64url_encode(sig);
}

jws_result<json> verify_jws(std::string_view token, const jws_key_lookup& keys,
                            const jws_verify_options& options) {
  // -- shape: three non-empty base64url parts within the size cap --
  if (token.size() > max_jws_size)
    return jws_errc::malformed;
  auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos)
    return jws_errc::malformed;
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos
      || token.find('.', dot2 + 1) != std::string_view::npos)
    return jws_errc::malformed;
  auto header_b64 = token.substr(0, dot1);
  auto payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  auto sig_b64 = token.substr(dot2 + 1);
  auto header_raw = decode_part(header_b64);
  auto payload_raw = decode_part(payload_b64);
  auto sig = decode_part(sig_b64, true);
  if (!header_raw || !payload_raw || !sig)
    return jws_errc::malformed;

  // -- header --
  auto header = parse_object(*header_raw);
  if (!header)
    return jws_errc::malformed;
  auto alg_it = header->find("alg");
  if (alg_it == header->end() || !alg_it->is_string())
    return jws_errc::malformed;
  // We understand no JWS extensions, so any `crit` must be refused (RFC 7515
  // §4.1.11).
  if (header->contains("crit"))
    return jws_errc::malformed;
  // "none" and anything unknown fail to parse.
  auto alg = parse_jws_alg(alg_it->get<std::string>());
  if (!alg
      || std::find(options.algorithms.begin(), options.algorithms.end(), *alg)
             == options.algorithms.end())
    return jws_errc::unsupported_alg;
  auto kid_it = header->find("kid");
  if (kid_it == header->end() || !kid_it->is_string() || !keys)
    return jws_errc::unknown_kid;
  const signing_key* key = keys(kid_it->get_ref<const std::string&>());
  if (key == nullptr)
    return jws_errc::unknown_kid;
  // The key decides the algorithm; a header cannot talk an RSA key into
  // being used with another scheme.
  if (key->alg() != *alg)
    return jws_errc::unsupported_alg;

  // -- signature over the encoded header and payload, as received --
  if (!verify_bytes(*key, token.substr(0, dot2), *sig))
    return jws_errc::bad_signature;

  // -- claims --
  auto claims = parse_object(*payload_raw);
  if (!claims)
    return jws_errc::malformed;
  const auto leeway = std::clamp<std::int64_t>(options.leeway, 0, max_leeway);
  const auto now = options.now;
  std::int64_t exp = 0, nbf = 0, iat = 0;
  auto exp_state = numeric_date(*claims, "exp", exp);
  auto nbf_state = numeric_date(*claims, "nbf", nbf);
  auto iat_state = numeric_date(*claims, "iat", iat);
  if (exp_state == date_state::invalid || nbf_state == date_state::invalid
      || iat_state == date_state::invalid
      || (exp_state == date_state::absent && options.require_exp))
    return jws_errc::malformed;
  if (exp_state == date_state::ok && now >= exp + leeway)
    return jws_errc::expired;
  if (nbf_state == date_state::ok && now + leeway < nbf)
    return jws_errc::not_yet_valid;
  if (iat_state == date_state::ok && iat > now + leeway)
    return jws_errc::not_yet_valid;
  auto iss = claims->find("iss");
  if (options.issuer.empty() || iss == claims->end() || !iss->is_string()
      || iss->get_ref<const std::string&>() != options.issuer)
    return jws_errc::wrong_issuer;
  auto aud = claims->find("aud");
  bool aud_ok = false;
  if (aud != claims->end() && !options.audience.empty()) {
    if (aud->is_string()) {
      aud_ok = aud->get_ref<const std::string&>() == options.audience;
    } else if (aud->is_array()) {
      for (const auto& a : *aud)
        if (a.is_string()
            && a.get_ref<const std::string&>() == options.audience)
          aud_ok = true;
    }
  }
  if (!aud_ok && !options.audience_checked_by_caller)
    return jws_errc::wrong_audience;
  return std::move(*claims);
}

jws_result<json> verify_jws(std::string_view token,
                            const std::vector<signing_key>& keys,
                            const jws_verify_options& options) {
  jws_key_lookup lookup = [&keys](std::string_view kid) -> const signing_key* {
    for (const auto& k : keys)
      if (k.kid() == kid)
        return &k;
    return nullptr;
  };
  return verify_jws(token, lookup, options);
}

json make_access_token_claims(const access_token_params& p) {
  return json{
      {"iss", p.issuer},
      {"aud", p.audience},
      {"sub", p.subject},
      {"sid", p.session_id},
      {"iat", p.issued_at},
      {"exp", p.issued_at + p.ttl},
      {"jti", p.jti.empty() ? random_token(16) : p.jti},
      {"amr", p.amr},
      {"auth_time", p.auth_time > 0 ? p.auth_time : p.issued_at},
  };
}

} // namespace authsvc::auth
