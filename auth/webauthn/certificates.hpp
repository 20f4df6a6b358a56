#pragma once
// X.509 helpers for attestation: parsing x5c, checking extensions and
// validating trust paths with OpenSSL's X509_STORE at a given time.
#include <cstdint>
#include <optional>
#include <vector>

#include "auth/encoding.hpp"
#include "auth/webauthn/attestation.hpp"
#include "auth/webauthn/cbor.hpp"
#include "auth/webauthn/ossl.hpp"
#include "auth/webauthn/result.hpp"

namespace authsvc::auth::webauthn {

/// An x5c chain, leaf first.
using certificate_chain = std::vector<ossl::x509_ptr>;

/// Parses one DER certificate; the whole buffer must be the certificate.
ossl::x509_ptr parse_der_certificate(const bytes& der);

/// Parses attStmt.x5c: a non-empty CBOR array of DER byte strings.
/// @returns `attestation_statement_invalid` otherwise.
result<certificate_chain> parse_x5c(const cbor_item_t* x5c);

/// The certificates' DER encodings, leaf first.
std::vector<bytes> to_der(const certificate_chain& chain);

/// Checks every certificate's validity period at `policy.verify_time` and,
/// when trust anchors are configured, that the chain reaches one of them.
/// @param chained receives whether an anchor was reached.
/// @returns `attestation_trust_path_invalid` on any failure.
status validate_trust_path(const certificate_chain& chain,
                           const attestation_policy& policy, bool& chained);

/// The outcome of a statement signed by the leaf of `chain`: the trust path
/// is validated (see validate_trust_path) and recorded as DER.
result<attestation_outcome> outcome_from_chain(const certificate_chain& chain,
                                               const attestation_policy& policy,
                                               attestation_type type);

/// The contents of the extnValue OCTET STRING of extension `oid`.
/// @param critical receives the critical flag when the extension exists.
std::optional<bytes> extension_value(X509* cert, const char* oid,
                                     bool* critical = nullptr);

/// Checks id-fido-gen-ce-aaguid (1.3.6.1.4.1.45724.1.1.4), when present, is
/// not critical and equals `aaguid`.
/// @returns `attestation_aaguid_mismatch` otherwise.
status check_aaguid_extension(X509* cert, const bytes& aaguid);

/// True when the certificate is an X.509 v3 one whose basic constraints
/// (if any) say it is not a CA.
bool is_v3_end_entity(X509* cert);

} // namespace authsvc::auth::webauthn
