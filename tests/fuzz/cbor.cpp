// The CBOR decoder (attestation objects, COSE keys, extensions) on any
// bytes, then the typed accessors the WebAuthn code reads it with.
#include "auth/webauthn/cbor.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace authsvc::auth::webauthn;
using authsvc::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::size_t consumed = 0;
  auto item = cbor_decode(data, size, consumed);
  if (!item)
    return 0;
  check(consumed <= size, "consumed more than the input");
  const auto* root = item.get();
  (void)cbor_to_bytes(root);
  (void)cbor_to_text(root);
  (void)cbor_to_int(root);
  for (auto key : {"fmt", "attStmt", "authData", "alg", "sig", "x5c"})
    if (const auto* v = cbor_map_find(root, key)) {
      (void)cbor_to_bytes(v);
      (void)cbor_to_text(v);
      (void)cbor_to_int(v);
    }
  for (std::int64_t key : {1, 3, -1, -2, -3})
    if (const auto* v = cbor_map_find(root, key)) {
      (void)cbor_to_bytes(v);
      (void)cbor_to_int(v);
    }
  return 0;
}
