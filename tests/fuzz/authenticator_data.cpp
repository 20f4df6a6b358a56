// Authenticator data (assertions and registrations): the parse of any
// bytes, then the policy checks on what parsed.
#include "auth/crypto.hpp"
#include "auth/webauthn/authenticator_data.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace authsvc::auth;
using namespace authsvc::auth::webauthn;
using authsvc::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto parsed = parse_authenticator_data(bytes(data, data + size));
  if (!parsed)
    return 0;
  check(parsed->raw.size() == size, "raw is not the input");
  check(parsed->rp_id_hash.size() == 32, "rpIdHash is not 32 bytes");
  if (parsed->attested)
    (void)format_aaguid(parsed->attested->aaguid);
  ceremony_policy policy;
  policy.rp_ids = {"localhost", "example.com"};
  policy.require_user_verification = size % 2 == 0;
  (void)check_authenticator_data(*parsed, policy);
  return 0;
}
