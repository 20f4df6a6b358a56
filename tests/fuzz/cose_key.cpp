// COSE public keys as stored with a credential: parse any bytes, and when
// one parses, a signature check with it on fixed data answers without
// crashing (almost always "no").
#include "auth/webauthn/cose_key.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace authsvc::auth;
using namespace authsvc::auth::webauthn;
using authsvc::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::size_t consumed = 0;
  auto key = parse_cose_key(data, size, consumed);
  if (!key)
    return 0;
  check(consumed <= size, "consumed more than the input");
  check(key->pkey != nullptr, "a parsed key without an OpenSSL key");
  check(is_known_algorithm(key->alg), "a parsed key of an unknown alg");
  bytes message{1, 2, 3};
  bytes signature(data, data + std::min<std::size_t>(size, 64));
  (void)verify_signature(key->alg, key->pkey.get(), message, signature);
  (void)digest_for_algorithm(key->alg, message);
  return 0;
}
