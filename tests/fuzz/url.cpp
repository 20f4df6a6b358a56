// URLs and redirect checks: redirect_to of an email sign-in, webhook
// targets, Origin of a form post. Input: '\n'-separated fields (target, an
// allow-list prefix, an Origin, Sec-Fetch-Site).
#include "auth/url.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace authsvc::auth;
using authsvc::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto f = authsvc::fuzz::fields_of(authsvc::fuzz::as_text(data, size), 4);
  if (auto u = parse_url(f[0])) {
    (void)u->origin();
    if (u->host_address) {
      (void)classify_address(*u->host_address);
      (void)is_forbidden_target(*u->host_address, false);
    }
  }
  const std::vector<std::string> fixed{"https://app.example.com/",
                                       "http://localhost:3000/cb"};
  bool fixed_ok = redirect_allowed(f[0], fixed);
  // An allowed redirect never leaves the allowed origins.
  if (fixed_ok) {
    auto u = parse_url(f[0]);
    check(u.has_value(), "an allowed redirect that does not parse");
    check(u->origin() == "https://app.example.com"
              || u->origin() == "http://localhost:3000",
          "an allowed redirect to another origin");
  }
  (void)redirect_allowed(f[0], std::vector<std::string>{f[1]});
  (void)form_post_same_origin(f[2], f[3], "https://auth.example.com");
  return 0;
}
