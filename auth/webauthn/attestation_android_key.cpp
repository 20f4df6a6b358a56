// §8.4 Android Key attestation: the leaf certificate holds the credential
// key and a KeyDescription extension binding the clientDataHash.
#include <openssl/asn1.h>

#include "auth/webauthn/attestation_formats.hpp"
#include "auth/webauthn/der.hpp"

namespace authsvc::auth::webauthn::formats {

namespace {

// Keymaster tags (Android KeyDescription AuthorizationList).
constexpr int tag_purpose = 1;
constexpr int tag_all_applications = 600;
constexpr int tag_origin = 702;
constexpr std::int64_t km_purpose_sign = 2;
constexpr std::int64_t km_origin_generated = 0;

struct authorization_list {
  std::vector<std::int64_t> purposes;
  std::optional<std::int64_t> origin;
  bool all_applications = false;
};

std::optional<authorization_list> read_list(const der_element& seq) {
  if (seq.tag != V_ASN1_SEQUENCE || !seq.constructed)
    return std::nullopt;
  authorization_list out;
  der_reader items{seq};
  while (auto item = items.next()) {
    if (item->cls != V_ASN1_CONTEXT_SPECIFIC)
      continue;
    if (item->tag == tag_all_applications) {
      out.all_applications = true;
      continue;
    }
    if (item->tag != tag_purpose && item->tag != tag_origin)
      continue;
    der_reader inner{*item};
    auto value = inner.next();
    if (!value)
      return std::nullopt;
    if (item->tag == tag_origin) {
      out.origin = der_integer(*value);
      if (!out.origin)
        return std::nullopt;
    } else {
      if (value->tag != V_ASN1_SET || !value->constructed)
        return std::nullopt;
      der_reader set{*value};
      while (auto p = set.next()) {
        auto v = der_integer(*p);
        if (!v)
          return std::nullopt;
        out.purposes.push_back(*v);
      }
      if (set.failed())
        return std::nullopt;
    }
  }
  if (items.failed())
    return std::nullopt;
  return out;
}

struct key_description {
  bytes challenge;
  authorization_list software;
  authorization_list tee;
};

std::optional<key_description> read_key_description(const bytes& value) {
  der_reader top{value.data(), value.size()};
  auto seq = top.next();
  if (!seq || seq->tag != V_ASN1_SEQUENCE || !seq->constructed)
    return std::nullopt;
  der_reader fields{*seq};
  std::vector<der_element> items;
  while (auto item = fields.next())
    items.push_back(*item);
  // attestationVersion, attestationSecurityLevel, keymasterVersion,
  // keymasterSecurityLevel, attestationChallenge, uniqueId,
  // softwareEnforced, teeEnforced.
  if (fields.failed() || items.size() < 8
      || items[4].tag != V_ASN1_OCTET_STRING)
    return std::nullopt;
  auto sw = read_list(items[6]);
  auto tee = read_list(items[7]);
  if (!sw || !tee)
    return std::nullopt;
  return key_description{
      bytes(items[4].content, items[4].content + items[4].length),
      std::move(*sw), std::move(*tee)};
}

bool has_purpose(const authorization_list& list, std::int64_t purpose) {
  for (auto p : list.purposes)
    if (p == purpose)
      return true;
  return false;
}

} // namespace

result<attestation_outcome> verify_android_key(const statement_input& in) {
  auto as = read_alg_and_sig(in.statement);
  if (!as)
    return as.err();
  auto chain = parse_x5c(cbor_map_find(in.statement, "x5c"));
  if (!chain)
    return chain.err();
  X509* leaf = chain->front().get();
  if (!verify_signature(as->alg, X509_get0_pubkey(leaf), in.signed_data(),
                        as->sig))
    return {errc::attestation_signature_invalid, "android-key signature"};
  if (!same_public_key(leaf, in.auth_data.attested->public_key))
    return {errc::attestation_public_key_mismatch, "leaf key"};
  auto ext = extension_value(leaf, "1.3.6.1.4.1.11129.2.1.17");
  if (!ext)
    return {errc::attestation_certificate_invalid, "no KeyDescription"};
  auto desc = read_key_description(*ext);
  if (!desc)
    return {errc::attestation_certificate_invalid, "malformed KeyDescription"};
  if (desc->challenge != in.client_data_hash)
    return {errc::attestation_nonce_mismatch, "attestationChallenge"};
  // The key must be scoped to this RP, generated in the keystore and usable
  // for signing; we accept the union of both lists (§8.4, not TEE-only).
  if (desc->software.all_applications || desc->tee.all_applications)
    return {errc::android_key_authorization_list, "allApplications present"};
  bool generated = desc->software.origin == km_origin_generated
                   || desc->tee.origin == km_origin_generated;
  if (!generated)
    return {errc::android_key_authorization_list, "origin not GENERATED"};
  if (!has_purpose(desc->software, km_purpose_sign)
      && !has_purpose(desc->tee, km_purpose_sign))
    return {errc::android_key_authorization_list, "purpose lacks SIGN"};
  return outcome_from_chain(*chain, in.policy, attestation_type::basic);
}

} // namespace authsvc::auth::webauthn::formats
