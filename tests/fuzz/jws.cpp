// JWS/JWT parsing and verification (bearer tokens on every authenticated
// route): any text against the target's keys, and any JSON as a public JWK
// (the JWKS a relying party or the key ring reads). A token that verifies
// must have been signed by one of the keys: with fixed keys and a fuzzer
// that cannot sign, a mutated token that verifies is a finding only if its
// signed part changed, which the JWS signature check itself rules out.
#include "auth/jws.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/jws_keys.hpp"

using namespace authsvc::auth;
using authsvc::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto text = authsvc::fuzz::as_text(data, size);
  const auto& keys = authsvc::fuzz::jws_keys();
  check(keys.size() == 2, "the target's keys did not load");
  auto claims = verify_jws(text, keys, authsvc::fuzz::jws_options());
  if (claims)
    check(claims->is_object(), "verified claims are not an object");
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_object()) {
    (void)jwk_thumbprint(j);
    if (auto key = signing_key::from_public_jwk(j))
      (void)key->public_jwk();
  }
  return 0;
}
