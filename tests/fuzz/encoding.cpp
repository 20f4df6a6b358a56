// base64url, base64, hex and base32 decoding of untrusted text (tokens,
// credential ids, TOTP secrets): never a crash, and whatever decodes
// encodes back to a text that decodes to the same bytes.
#include "auth/base32.hpp"
#include "auth/encoding.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace authsvc::auth;
using authsvc::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto text = authsvc::fuzz::as_text(data, size);
  if (auto b = base64url_decode(text)) {
    auto again = base64url_decode(base64url_encode(*b));
    check(again && *again == *b, "base64url round trip");
  }
  if (auto b = base64_decode(text)) {
    auto again = base64_decode(base64_encode(*b));
    check(again && *again == *b, "base64 round trip");
  }
  if (auto b = hex_decode(text)) {
    auto again = hex_decode(hex_encode(*b));
    check(again && *again == *b, "hex round trip");
  }
  if (auto b = base32_decode(text)) {
    auto again = base32_decode(base32_encode(*b));
    check(again && *again == *b, "base32 round trip");
  }
  // Any bytes encode to text every decoder accepts back.
  bytes raw(data, data + size);
  auto b64u = base64url_decode(base64url_encode(raw));
  check(b64u && *b64u == raw, "base64url of raw bytes");
  auto b32 = base32_decode(base32_encode(raw));
  check(b32 && *b32 == raw, "base32 of raw bytes");
  return 0;
}
