// clientDataJSON: parse any bytes, check what parsed against a policy.
#include "auth/webauthn/client_data.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace authsvc::auth;
using namespace authsvc::auth::webauthn;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto parsed = parse_client_data(bytes(data, data + size));
  if (!parsed)
    return 0;
  ceremony_policy policy;
  policy.expected_challenge = {1, 2, 3, 4};
  policy.origins = {"http://localhost:5000", "https://example.com"};
  policy.allow_cross_origin = size % 2 == 0;
  (void)check_client_data(*parsed, policy, "webauthn.get");
  (void)check_client_data(*parsed, policy, "webauthn.create");
  return 0;
}
