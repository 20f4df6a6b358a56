// §8.2 Packed attestation: self attestation, or a signature by an
// attestation certificate (x5c) that meets §8.2.1.
#include <cstring>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "auth/webauthn/attestation_formats.hpp"

namespace authsvc::auth::webauthn::formats {

namespace {

// The text of the first subject attribute `nid`, or nullopt.
std::optional<std::string> subject_attribute(X509* cert, int nid) {
  X509_NAME* name = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(name, nid, -1);
  if (idx < 0)
    return std::nullopt;
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  if (data == nullptr)
    return std::nullopt;
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

// §8.2.1 packed attestation statement certificate requirements.
status check_certificate(X509* cert, const bytes& aaguid) {
  if (!is_v3_end_entity(cert))
    return {errc::attestation_certificate_invalid, "not a v3 end entity"};
  auto c = subject_attribute(cert, NID_countryName);
  auto o = subject_attribute(cert, NID_organizationName);
  auto ou = subject_attribute(cert, NID_organizationalUnitName);
  auto cn = subject_attribute(cert, NID_commonName);
  if (!c || !o || !cn
      || ou != std::optional<std::string>{"Authenticator Attestation"})
    return {errc::attestation_certificate_invalid, "subject C/O/OU/CN"};
  return check_aaguid_extension(cert, aaguid);
}

} // namespace

result<attestation_outcome> verify_packed(const statement_input& in) {
  auto as = read_alg_and_sig(in.statement);
  if (!as)
    return as.err();
  const auto& cred = *in.auth_data.attested;
  auto data = in.signed_data();
  auto* x5c = cbor_map_find(in.statement, "x5c");
  if (x5c == nullptr) {
    if (cbor_map_find(in.statement, "ecdaaKeyId") != nullptr)
      return {errc::unsupported_attestation_format, "ECDAA is not supported"};
    // Self attestation: the credential key signs with its own algorithm.
    if (as->alg != cred.public_key.alg)
      return {errc::attestation_statement_invalid, "alg differs from the key"};
    if (!verify_signature(as->alg, cred.public_key.pkey.get(), data, as->sig))
      return {errc::attestation_signature_invalid, "self attestation"};
    attestation_outcome out;
    out.type = attestation_type::self;
    return out;
  }
  auto chain = parse_x5c(x5c);
  if (!chain)
    return chain.err();
  X509* leaf = chain->front().get();
  if (!verify_signature(as->alg, X509_get0_pubkey(leaf), data, as->sig))
    return {errc::attestation_signature_invalid, "x5c signature"};
  if (auto st = check_certificate(leaf, cred.aaguid); !st)
    return st.err();
  return outcome_from_chain(*chain, in.policy, attestation_type::basic);
}

} // namespace authsvc::auth::webauthn::formats
