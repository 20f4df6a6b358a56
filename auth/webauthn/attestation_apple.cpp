// §8.8 Apple anonymous attestation: the leaf certificate carries the nonce
// SHA-256(authenticatorData || clientDataHash) and the credential key.
#include "auth/crypto.hpp"
#include "auth/webauthn/attestation_formats.hpp"
#include "auth/webauthn/der.hpp"

#include <openssl/asn1.h>

namespace authsvc::auth::webauthn::formats {

namespace {

// Extension 1.2.840.113635.100.8.2: SEQUENCE { [1] EXPLICIT OCTET STRING }.
std::optional<bytes> apple_nonce(X509* cert) {
  auto value = extension_value(cert, "1.2.840.113635.100.8.2");
  if (!value)
    return std::nullopt;
  der_reader top{value->data(), value->size()};
  auto seq = top.next();
  if (!seq || seq->tag != V_ASN1_SEQUENCE || !seq->constructed)
    return std::nullopt;
  der_reader items{*seq};
  while (auto item = items.next()) {
    if (item->cls != V_ASN1_CONTEXT_SPECIFIC || item->tag != 1
        || !item->constructed)
      continue;
    der_reader inner{*item};
    auto octets = inner.next();
    if (!octets || octets->tag != V_ASN1_OCTET_STRING
        || octets->cls != V_ASN1_UNIVERSAL)
      return std::nullopt;
    return bytes(octets->content, octets->content + octets->length);
  }
  return std::nullopt;
}

} // namespace

result<attestation_outcome> verify_apple(const statement_input& in) {
  auto chain = parse_x5c(cbor_map_find(in.statement, "x5c"));
  if (!chain)
    return chain.err();
  X509* leaf = chain->front().get();
  auto nonce = apple_nonce(leaf);
  if (!nonce || *nonce != sha256(in.signed_data()))
    return {errc::attestation_nonce_mismatch, "apple nonce"};
  if (!same_public_key(leaf, in.auth_data.attested->public_key))
    return {errc::attestation_public_key_mismatch, "apple leaf key"};
  return outcome_from_chain(*chain, in.policy, attestation_type::anonca);
}

} // namespace authsvc::auth::webauthn::formats
