#include "auth/webauthn/registration.hpp"

#include <algorithm>

#include "auth/crypto.hpp"
#include "auth/webauthn/client_data.hpp"

namespace authsvc::auth::webauthn {

namespace {

// §6.5.1: credential IDs are at most 1023 bytes.
constexpr std::size_t max_credential_id = 1023;

template <class T>
bool contains(const std::vector<T>& list, const T& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

} // namespace

result<registered_credential>
verify_registration(const registration_response& response,
                    const registration_options& options) {
  // Steps 5-11: the client data.
  auto cd = parse_client_data(response.client_data_json);
  if (!cd)
    return cd.err();
  if (auto st = check_client_data(*cd, options, "webauthn.create"); !st)
    return st.err();
  // Step 12: hash of the exact clientDataJSON bytes.
  bytes client_data_hash = sha256(response.client_data_json);
  // Step 13: decode the attestation object and its authenticator data.
  auto obj = parse_attestation_object(response.attestation_object);
  if (!obj)
    return obj.err();
  const auto& ad = obj->auth_data;
  // Steps 14-17: rpIdHash, UP, UV, BE/BS.
  if (auto st = check_authenticator_data(ad, options); !st)
    return st.err();
  if (!ad.attested)
    return {errc::missing_attested_credential_data, "AT flag clear"};
  const auto& cred = *ad.attested;
  // Step 19: the algorithm must be one the RP offered.
  const auto& algs = options.allowed_algorithms.empty()
                         ? default_credential_algorithms()
                         : options.allowed_algorithms;
  // Windows Hello TPM credentials of older Windows builds are RS1 keys.
  // RS1 is accepted by default only there, where the TPM vouches for the key.
  bool tpm_rs1 = options.allowed_algorithms.empty() && obj->fmt == "tpm"
                 && cred.public_key.alg == cose_alg::rs1;
  if (!contains(algs, cred.public_key.alg) && !tpm_rs1)
    return {errc::unsupported_algorithm,
            "alg " + std::to_string(cred.public_key.alg) + " not allowed"};
  // Steps 21-22: the attestation statement.
  if (!options.allowed_formats.empty()
      && !contains(options.allowed_formats, obj->fmt))
    return {errc::unsupported_attestation_format, "fmt " + obj->fmt};
  auto outcome = verify_attestation_statement(*obj, client_data_hash,
                                              options.attestation);
  if (!outcome)
    return outcome.err();
  // Steps 24-25: the credential ID.
  if (cred.credential_id.size() > max_credential_id)
    return {errc::credential_id_too_long, "credential id > 1023 bytes"};
  if (options.require_raw_id_match
      && !constant_time_equal(response.raw_id, cred.credential_id))
    return {errc::credential_id_mismatch, "rawId is not the attested id"};
  // Step 24: a statement that verified but is not trustworthy enough.
  if (auto st = check_attestation_trust(options.trust, outcome->type,
                                        outcome->chained_to_anchor);
      !st)
    return st.err();
  registered_credential out;
  out.fmt = obj->fmt;
  out.credential_id = cred.credential_id;
  out.public_key = cred.public_key.encoded;
  out.alg = cred.public_key.alg;
  out.sign_count = ad.sign_count;
  out.aaguid = cred.aaguid;
  out.flags = ad.flags;
  out.attestation = outcome->type;
  out.trust_path = std::move(outcome->trust_path);
  out.attestation_chained = outcome->chained_to_anchor;
  out.transports = response.transports;
  out.authenticator_attachment = response.authenticator_attachment;
  out.extensions = ad.extensions;
  return out;
}

} // namespace authsvc::auth::webauthn
