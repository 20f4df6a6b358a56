// Email address parsing (sign-in, TOTP and passkey starts, admin): never a
// crash; an accepted address is normalised for good (normalising it again
// keeps it as is) and carries no byte that could break a mail header.
#include "auth/email_address.hpp"
#include "mail/mime.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace authsvc::auth;
using authsvc::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto r = normalise_email(authsvc::fuzz::as_text(data, size));
  if (!r) {
    check(r.error != email_error::none, "refusal without a reason");
    return 0;
  }
  const auto& a = *r.address;
  check(r.error == email_error::none, "accepted with an error");
  for (char c : a)
    check(c != '\r' && c != '\n' && c != '\0', "control byte in an address");
  auto again = normalise_email(a);
  check(again && *again.address == a, "normalisation is not idempotent");
  (void)send_budget_key(a);
  (void)authsvc::mail::is_valid_address(a);
  return 0;
}
