#pragma once
// The statement format verifiers of WebAuthn §8, one file each. Internal to
// auth/webauthn: callers use verify_attestation_statement.
#include "auth/webauthn/attestation.hpp"
#include "auth/webauthn/certificates.hpp"

namespace authsvc::auth::webauthn::formats {

/// Everything a format verifier looks at.
struct statement_input {
  /// attStmt, a CBOR map.
  const cbor_item_t* statement;
  const authenticator_data& auth_data;
  const bytes& client_data_hash;
  const attestation_policy& policy;

  /// authenticatorData || clientDataHash, what most formats sign.
  bytes signed_data() const {
    bytes out = auth_data.raw;
    out.insert(out.end(), client_data_hash.begin(), client_data_hash.end());
    return out;
  }
};

/// §8.7 none.
result<attestation_outcome> verify_none(const statement_input& in);

/// §8.2 packed.
result<attestation_outcome> verify_packed(const statement_input& in);

/// §8.6 fido-u2f.
result<attestation_outcome> verify_fido_u2f(const statement_input& in);

/// §8.3 tpm.
result<attestation_outcome> verify_tpm(const statement_input& in);

/// §8.4 android-key.
result<attestation_outcome> verify_android_key(const statement_input& in);

/// §8.5 android-safetynet.
result<attestation_outcome> verify_android_safetynet(const statement_input& in);

/// §8.8 apple.
result<attestation_outcome> verify_apple(const statement_input& in);

/// Reads attStmt.alg, attStmt.sig; shared by packed, tpm and android-key.
struct alg_and_sig {
  int alg = 0;
  bytes sig;
};
result<alg_and_sig> read_alg_and_sig(const cbor_item_t* statement);

/// True when the certificate's public key equals the credential key.
bool same_public_key(X509* cert, const cose_key& key);

} // namespace authsvc::auth::webauthn::formats
