// §8.6 FIDO U2F attestation: a P-256 attestation certificate signs the
// U2F registration data rebuilt from the authenticator data.
#include <openssl/core_names.h>

#include "auth/webauthn/attestation_formats.hpp"

namespace authsvc::auth::webauthn::formats {

namespace {

bool is_p256(EVP_PKEY* key) {
  if (key == nullptr || !EVP_PKEY_is_a(key, "EC"))
    return false;
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                     sizeof(group), &len)
      != 1)
    return false;
  std::string name{group, len};
  return name == "prime256v1" || name == "P-256";
}

} // namespace

result<attestation_outcome> verify_fido_u2f(const statement_input& in) {
  auto sig = cbor_to_bytes(cbor_map_find(in.statement, "sig"));
  auto* x5c = cbor_map_find(in.statement, "x5c");
  if (!sig || x5c == nullptr)
    return {errc::attestation_statement_invalid, "sig/x5c missing"};
  auto chain = parse_x5c(x5c);
  if (!chain)
    return chain.err();
  if (chain->size() != 1)
    return {errc::attestation_statement_invalid, "x5c must hold one cert"};
  X509* cert = chain->front().get();
  if (!is_p256(X509_get0_pubkey(cert)))
    return {errc::attestation_certificate_invalid, "not a P-256 key"};
  const auto& cred = *in.auth_data.attested;
  const auto& key = cred.public_key;
  if (key.kty != cose_kty::ec2 || key.alg != cose_alg::es256)
    return {errc::invalid_credential_public_key, "U2F needs an ES256 key"};
  // verificationData = 0x00 || rpIdHash || clientDataHash || credentialId
  //                    || publicKeyU2F (0x04 || x || y).
  bytes data;
  data.reserve(1 + 32 + 32 + cred.credential_id.size() + 65);
  data.push_back(0x00);
  data.insert(data.end(), in.auth_data.rp_id_hash.begin(),
              in.auth_data.rp_id_hash.end());
  data.insert(data.end(), in.client_data_hash.begin(),
              in.client_data_hash.end());
  data.insert(data.end(), cred.credential_id.begin(), cred.credential_id.end());
  data.push_back(0x04);
  data.insert(data.end(), key.x.begin(), key.x.end());
  data.insert(data.end(), key.y.begin(), key.y.end());
  if (!verify_signature(cose_alg::es256, X509_get0_pubkey(cert), data, *sig))
    return {errc::attestation_signature_invalid, "U2F signature"};
  return outcome_from_chain(*chain, in.policy, attestation_type::basic);
}

} // namespace authsvc::auth::webauthn::formats
