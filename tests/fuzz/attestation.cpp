// Attestation objects (the body of a passkey registration): CBOR decoding,
// authenticator data with its attested credential, then the statement
// verification. Built once per format with AUTHSVC_FUZZ_FORMAT naming the
// verifier (formats::verify_packed, ...), so each format's statement code
// is fuzzed whatever `fmt` the input names, and once without it
// (attestation_object) through the dispatch on `fmt`.
#include "auth/webauthn/attestation.hpp"
#include "auth/webauthn/attestation_formats.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/webauthn_support.hpp"

using namespace authsvc::auth;
using namespace authsvc::auth::webauthn;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto object = parse_attestation_object(bytes(data, data + size));
  if (!object)
    return 0;
  const bytes client_data_hash(32, 0x42);
  const auto& policy = authsvc::fuzz::fuzz_attestation_policy();
#ifdef AUTHSVC_FUZZ_FORMAT
  formats::statement_input in{object->statement.get(), object->auth_data,
                              client_data_hash, policy};
  auto outcome = formats::AUTHSVC_FUZZ_FORMAT(in);
#else
  auto outcome
      = verify_attestation_statement(*object, client_data_hash, policy);
#endif
  if (outcome)
    (void)to_string(outcome->type);
  return 0;
}
