// base64url, base64, hex and base32 decoding of untrusted text (tokens,
// credential ids, TOTP secrets): never a crash, and whatever decodes
// encodes back to a text that decodes to the same bytes.
#include "auth/base32.hpp"
#include "auth/encoding.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace authsvc::auth;
using authsvc::fuzz::check;

namespace {

/// Whatever `decode` accepts, `encode` turns into a text that decodes to the
/// same bytes.
template <class Decode, class Encode>
void round_trip(std::string_view text, Decode decode, Encode encode,
                const char* what) {
  if (auto b = decode(text)) {
    auto again = decode(encode(*b));
    check(again && *again == *b, what);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto text = authsvc::fuzz::as_text(data, size);
  round_trip(
      text, base64url_decode,
      [](const bytes& b) { return base64url_encode(b); },
      "base64url round trip");
  round_trip(
      text, base64_decode, [](const bytes& b) { return base64_encode(b); },
      "base64 round trip");
  round_trip(
      text, hex_decode, [](const bytes& b) { return hex_encode(b); },
      "hex round trip");
  round_trip(
      text, base32_decode, [](const bytes& b) { return base32_encode(b); },
      "base32 round trip");
  // Any bytes encode to text every decoder accepts back.
  bytes raw(data, data + size);
  auto b64u = base64url_decode(base64url_encode(raw));
  check(b64u && *b64u == raw, "base64url of raw bytes");
  auto b32 = base32_decode(base32_encode(raw));
  check(b32 && *b32 == raw, "base32 of raw bytes");
  return 0;
}
