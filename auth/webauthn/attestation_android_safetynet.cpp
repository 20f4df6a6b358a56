// §8.5 Android SafetyNet attestation: a JWS from Google's attestation
// service whose nonce binds authenticatorData and clientDataHash.
#include <cstdlib>

#include <nlohmann/json.hpp>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/x509v3.h>

#include "auth/crypto.hpp"
#include "auth/webauthn/attestation_formats.hpp"

namespace authsvc::auth::webauthn::formats {

namespace {

// How far timestampMs may be from the verification time (SimpleWebAuthn and
// py_webauthn use the same window).
constexpr std::int64_t max_skew_ms = 60'000;

using nlohmann::json;

std::optional<json> parse_json(const bytes& text) {
  auto doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return std::nullopt;
  return doc;
}

std::optional<int> jws_alg(const std::string& name) {
  if (name == "RS256")
    return cose_alg::rs256;
  if (name == "RS384")
    return cose_alg::rs384;
  if (name == "RS512")
    return cose_alg::rs512;
  if (name == "PS256")
    return cose_alg::ps256;
  if (name == "ES256")
    return cose_alg::es256;
  if (name == "ES384")
    return cose_alg::es384;
  return std::nullopt;
}

} // namespace

result<attestation_outcome>
verify_android_safetynet(const statement_input& in) {
  using E = errc;
  auto ver = cbor_to_text(cbor_map_find(in.statement, "ver"));
  auto response = cbor_to_bytes(cbor_map_find(in.statement, "response"));
  if (!ver || ver->empty() || !response)
    return {E::attestation_statement_invalid, "ver/response missing"};
  // Compact JWS: header.payload.signature, each base64url.
  std::string jws(response->begin(), response->end());
  auto dot1 = jws.find('.');
  auto dot2 = dot1 == std::string::npos ? dot1 : jws.find('.', dot1 + 1);
  if (dot2 == std::string::npos || jws.find('.', dot2 + 1) != std::string::npos)
    return {E::attestation_statement_invalid, "response is not a JWS"};
  auto header_raw = base64url_decode(std::string_view(jws).substr(0, dot1));
  auto payload_raw = base64url_decode(
      std::string_view(jws).substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = base64url_decode(std::string_view(jws).substr(dot2 + 1));
  if (!header_raw || !payload_raw || !signature)
    return {E::attestation_statement_invalid, "JWS base64url"};
  auto header = parse_json(*header_raw);
  auto payload = parse_json(*payload_raw);
  if (!header || !payload)
    return {E::attestation_statement_invalid, "JWS JSON"};
  // The nonce is base64(SHA-256(authenticatorData || clientDataHash)).
  auto nonce = payload->find("nonce");
  if (nonce == payload->end() || !nonce->is_string()
      || nonce->get<std::string>() != base64_encode(sha256(in.signed_data())))
    return {E::attestation_nonce_mismatch, "SafetyNet nonce"};
  // Certificates: header.x5c, standard base64 DER, leaf first.
  auto x5c = header->find("x5c");
  auto alg_name = header->find("alg");
  if (x5c == header->end() || !x5c->is_array() || x5c->empty()
      || alg_name == header->end() || !alg_name->is_string())
    return {E::attestation_statement_invalid, "JWS header x5c/alg"};
  certificate_chain chain;
  for (const auto& entry : *x5c) {
    if (!entry.is_string())
      return {E::attestation_statement_invalid, "x5c entry"};
    auto der = base64_decode(entry.get<std::string>());
    auto cert = der ? parse_der_certificate(*der) : nullptr;
    if (!cert)
      return {E::attestation_certificate_invalid, "x5c entry is not X.509"};
    chain.push_back(std::move(cert));
  }
  X509* leaf = chain.front().get();
  if (X509_check_host(leaf, "attest.android.com", 0, 0, nullptr) != 1)
    return {E::attestation_certificate_invalid, "not attest.android.com"};
  auto alg = jws_alg(alg_name->get<std::string>());
  if (!alg)
    return {E::unsupported_algorithm, "JWS alg"};
  bytes sig = *signature;
  if (*alg == cose_alg::es256 || *alg == cose_alg::es384) {
    auto der = ecdsa_raw_to_der(sig);
    if (!der)
      return {E::attestation_signature_invalid, "JWS ECDSA signature"};
    sig = std::move(*der);
  }
  bytes signing_input(jws.begin(), jws.begin() + static_cast<long>(dot2));
  if (!verify_signature(*alg, X509_get0_pubkey(leaf), signing_input, sig))
    return {E::attestation_signature_invalid, "JWS signature"};
  attestation_outcome out;
  out.type = attestation_type::basic;
  if (auto st = validate_trust_path(chain, in.policy, out.chained_to_anchor);
      !st)
    return st.err();
  if (in.policy.safetynet_enforce_cts_profile) {
    auto cts = payload->find("ctsProfileMatch");
    if (cts == payload->end() || !cts->is_boolean() || !cts->get<bool>())
      return {E::safetynet_cts_profile_mismatch, "ctsProfileMatch"};
  }
  if (in.policy.safetynet_check_timestamp) {
    auto ts = payload->find("timestampMs");
    if (ts == payload->end() || !ts->is_number_integer())
      return {E::safetynet_timestamp_invalid, "timestampMs missing"};
    auto stamp = ts->get<std::int64_t>();
    // Compare in a wide type: both values are attacker-influenced.
    long double skew = static_cast<long double>(in.policy.verify_time) * 1000
                       - static_cast<long double>(stamp);
    if (skew > max_skew_ms || skew < -max_skew_ms)
      return {E::safetynet_timestamp_invalid, "timestampMs out of window"};
  }
  out.trust_path = to_der(chain);
  return out;
}

} // namespace authsvc::auth::webauthn::formats
