#include "auth/webauthn/attestation.hpp"

#include "auth/webauthn/attestation_formats.hpp"

namespace authsvc::auth::webauthn {

std::string_view to_string(attestation_type type) {
  switch (type) {
  case attestation_type::none:
    return "none";
  case attestation_type::self:
    return "self";
  case attestation_type::basic:
    return "basic";
  case attestation_type::attca:
    return "attca";
  case attestation_type::anonca:
    return "anonca";
  }
  return "none";
}

result<attestation_object> parse_attestation_object(const bytes& encoded) {
  using E = errc;
  std::size_t consumed = 0;
  auto root = cbor_decode(encoded.data(), encoded.size(), consumed);
  if (!root || consumed != encoded.size() || !cbor_isa_map(root.get()))
    return {E::malformed_attestation_object, "not a single CBOR map"};
  auto fmt = cbor_to_text(cbor_map_find(root.get(), "fmt"));
  auto* stmt = cbor_map_find(root.get(), "attStmt");
  auto auth_data = cbor_to_bytes(cbor_map_find(root.get(), "authData"));
  if (!fmt || stmt == nullptr || !cbor_isa_map(stmt) || !auth_data)
    return {E::malformed_attestation_object, "fmt/attStmt/authData missing"};
  auto parsed = parse_authenticator_data(*auth_data);
  if (!parsed)
    return parsed.err();
  attestation_object out;
  out.fmt = std::move(*fmt);
  out.statement = cbor_ptr{cbor_incref(const_cast<cbor_item_t*>(stmt))};
  out.auth_data = std::move(parsed.value());
  return out;
}

result<attestation_outcome>
verify_attestation_statement(const attestation_object& object,
                             const bytes& client_data_hash,
                             const attestation_policy& policy) {
  if (!object.auth_data.attested)
    return {errc::missing_attested_credential_data, "no AT flag"};
  formats::statement_input in{object.statement.get(), object.auth_data,
                              client_data_hash, policy};
  const auto& fmt = object.fmt;
  if (fmt == "none")
    return formats::verify_none(in);
  if (fmt == "packed")
    return formats::verify_packed(in);
  if (fmt == "fido-u2f")
    return formats::verify_fido_u2f(in);
  if (fmt == "tpm")
    return formats::verify_tpm(in);
  if (fmt == "android-key")
    return formats::verify_android_key(in);
  if (fmt == "android-safetynet")
    return formats::verify_android_safetynet(in);
  if (fmt == "apple")
    return formats::verify_apple(in);
  return {errc::unsupported_attestation_format, "fmt " + fmt};
}

namespace formats {

result<alg_and_sig> read_alg_and_sig(const cbor_item_t* statement) {
  auto alg = cbor_to_int(cbor_map_find(statement, "alg"));
  auto sig = cbor_to_bytes(cbor_map_find(statement, "sig"));
  if (!alg || !sig || *alg < -65536 || *alg > 65535)
    return {errc::attestation_statement_invalid, "alg/sig missing"};
  if (!is_known_algorithm(static_cast<int>(*alg)))
    return {errc::unsupported_algorithm, "attestation alg"};
  return alg_and_sig{static_cast<int>(*alg), std::move(*sig)};
}

bool same_public_key(X509* cert, const cose_key& key) {
  EVP_PKEY* cert_key = X509_get0_pubkey(cert);
  return cert_key != nullptr && key.pkey
         && EVP_PKEY_eq(cert_key, key.pkey.get()) == 1;
}

result<attestation_outcome> verify_none(const statement_input& in) {
  // §8.7: attStmt is an empty map.
  if (cbor_map_size(in.statement) != 0)
    return {errc::attestation_statement_invalid, "none with a statement"};
  return attestation_outcome{};
}

} // namespace formats

} // namespace authsvc::auth::webauthn
