#include "auth/webauthn/result.hpp"

namespace authsvc::auth::webauthn {

std::string_view to_string(errc code) {
  switch (code) {
  case errc::malformed_client_data:
    return "malformed_client_data";
  case errc::type_mismatch:
    return "type_mismatch";
  case errc::challenge_mismatch:
    return "challenge_mismatch";
  case errc::origin_mismatch:
    return "origin_mismatch";
  case errc::cross_origin_not_allowed:
    return "cross_origin_not_allowed";
  case errc::top_origin_mismatch:
    return "top_origin_mismatch";
  case errc::token_binding_invalid:
    return "token_binding_invalid";
  case errc::malformed_authenticator_data:
    return "malformed_authenticator_data";
  case errc::rp_id_mismatch:
    return "rp_id_mismatch";
  case errc::user_not_present:
    return "user_not_present";
  case errc::user_not_verified:
    return "user_not_verified";
  case errc::backup_state_invalid:
    return "backup_state_invalid";
  case errc::missing_attested_credential_data:
    return "missing_attested_credential_data";
  case errc::counter_regression:
    return "counter_regression";
  case errc::malformed_credential:
    return "malformed_credential";
  case errc::credential_id_mismatch:
    return "credential_id_mismatch";
  case errc::credential_id_too_long:
    return "credential_id_too_long";
  case errc::invalid_credential_public_key:
    return "invalid_credential_public_key";
  case errc::unsupported_algorithm:
    return "unsupported_algorithm";
  case errc::signature_invalid:
    return "signature_invalid";
  case errc::user_handle_mismatch:
    return "user_handle_mismatch";
  case errc::user_handle_missing:
    return "user_handle_missing";
  case errc::malformed_attestation_object:
    return "malformed_attestation_object";
  case errc::unsupported_attestation_format:
    return "unsupported_attestation_format";
  case errc::attestation_statement_invalid:
    return "attestation_statement_invalid";
  case errc::attestation_signature_invalid:
    return "attestation_signature_invalid";
  case errc::attestation_certificate_invalid:
    return "attestation_certificate_invalid";
  case errc::attestation_trust_path_invalid:
    return "attestation_trust_path_invalid";
  case errc::attestation_aaguid_mismatch:
    return "attestation_aaguid_mismatch";
  case errc::attestation_public_key_mismatch:
    return "attestation_public_key_mismatch";
  case errc::attestation_nonce_mismatch:
    return "attestation_nonce_mismatch";
  case errc::attestation_not_trusted:
    return "attestation_not_trusted";
  case errc::tpm_attestation_invalid:
    return "tpm_attestation_invalid";
  case errc::android_key_authorization_list:
    return "android_key_authorization_list";
  case errc::safetynet_cts_profile_mismatch:
    return "safetynet_cts_profile_mismatch";
  case errc::safetynet_timestamp_invalid:
    return "safetynet_timestamp_invalid";
  }
  return "unknown";
}

} // namespace authsvc::auth::webauthn
