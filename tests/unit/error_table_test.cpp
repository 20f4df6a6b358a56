// Every typed error maps to a code of the api.md table: the switch in
// front/error_table.cpp covers each enum value (-Werror=switch), and this test
// checks that what each row names is a real code with a real status.
#include <catch2/catch.hpp>

#include <caf/sec.hpp>

#include "actors/caf_errors.hpp"
#include "actors/email_errc.hpp"
#include "actors/passkey_errc.hpp"
#include "actors/session_errc.hpp"
#include "actors/totp_errc.hpp"
#include "db/store_errc.hpp"
#include "front/admin_errc.hpp"
#include "front/error_table.hpp"
#include "front/request_errc.hpp"

using namespace authsvc;

namespace {

/// Every number of enum E's domain that the table maps names a known code.
template <class E>
int check_domain() {
  int mapped = 0;
  for (int n = 0; n < 256; ++n) {
    auto code = http::api_code(error{static_cast<E>(n)});
    INFO("domain value " << n << " -> " << code);
    CHECK(http::is_known_code(code));
    if (code != "internal_error")
      ++mapped;
  }
  return mapped;
}

} // namespace

TEST_CASE("every request and store error maps to an api.md code") {
  CHECK(check_domain<http::request_errc>() >= 16);
  CHECK(check_domain<db::store_errc>() == 3);
  CHECK(http::api_code(http::request_errc::cors_denied) == "cors_denied");
  CHECK(http::to_api_error(db::store_errc::unavailable).code
        == "service_unavailable");
}

TEST_CASE("a typed error survives a trip through caf::error") {
  auto e = error{http::request_errc::rate_limited};
  auto c = caf::error{e.code(), caf_category(e.domain())};
  auto back = from_caf(c);
  CHECK(back.is(http::request_errc::rate_limited));
  CHECK(from_caf(caf::make_error(caf::sec::request_timeout)).domain()
        == error_domain::store);
}

TEST_CASE("every session error maps to an api.md code and crosses actors") {
  CHECK(check_domain<session_errc>() == 4); // internal is internal_error
  CHECK(http::api_code(session_errc::invalid_refresh_token)
        == "invalid_refresh_token");
  CHECK(http::api_code(session_errc::refresh_token_reused)
        == "refresh_token_reused");
  CHECK(http::api_code(session_errc::unauthorized) == "unauthorized");
  CHECK(http::to_api_error(session_errc::unavailable).code
        == "service_unavailable");
  CHECK(http::to_api_error(session_errc::internal).code == "internal_error");
  // Registered with CAF: make_error carries the domain's category.
  auto c = caf::make_error(session_errc::refresh_token_reused);
  CHECK(c.category() == caf_category(error_domain::session));
  CHECK(from_caf(c).is(session_errc::refresh_token_reused));
}

TEST_CASE("every admin API error maps to its api.md code") {
  CHECK(check_domain<http::admin_errc>() == 4);
  CHECK(http::api_code(http::admin_errc::not_found) == "not_found");
  CHECK(http::api_code(http::admin_errc::conflict) == "conflict");
  CHECK(http::api_code(http::admin_errc::validation_failed)
        == "validation_failed");
  CHECK(http::api_code(http::admin_errc::would_lock_out_caller)
        == "would_lock_out_caller");
  CHECK(
      http::status_for(http::api_code(http::admin_errc::would_lock_out_caller))
      == 409);
  CHECK(http::to_api_error(http::admin_errc::not_found).code == "not_found");
}

TEST_CASE("every email sign-in error maps to its api.md code") {
  CHECK(check_domain<email_errc>() == 7);
  CHECK(http::api_code(email_errc::invalid_link) == "invalid_link");
  CHECK(http::api_code(email_errc::invalid_code) == "invalid_code");
  CHECK(http::api_code(email_errc::flow_expired) == "flow_expired");
  CHECK(http::api_code(email_errc::handover_refused) == "handover_refused");
  CHECK(http::api_code(email_errc::invalid_exchange_code)
        == "invalid_exchange_code");
  CHECK(http::api_code(email_errc::signup_disabled) == "signup_disabled");
  CHECK(http::api_code(email_errc::redirect_not_allowed)
        == "redirect_not_allowed");
  CHECK(http::to_api_error(email_errc::handover_refused).code
        == "handover_refused");
  // Across actors: CAF_ERROR_CODE_ENUM gives the "email" category.
  auto back = from_caf(caf::make_error(email_errc::flow_expired));
  CHECK(back.is(email_errc::flow_expired));
}

TEST_CASE("every passkey and TOTP error maps to its api.md code") {
  CHECK(check_domain<passkey_errc>() == 6);
  CHECK(check_domain<totp_errc>() == 4);
  CHECK(http::api_code(passkey_errc::challenge_not_found)
        == "challenge_not_found");
  CHECK(http::api_code(passkey_errc::challenge_expired) == "challenge_expired");
  CHECK(http::api_code(passkey_errc::webauthn_failed) == "webauthn_failed");
  CHECK(http::api_code(passkey_errc::attestation_not_trusted)
        == "attestation_not_trusted");
  CHECK(http::api_code(passkey_errc::passkey_limit_reached)
        == "passkey_limit_reached");
  CHECK(http::api_code(passkey_errc::not_found) == "not_found");
  CHECK(http::api_code(passkey_errc::internal) == "internal_error");
  CHECK(http::api_code(totp_errc::invalid_code) == "invalid_code");
  CHECK(http::api_code(totp_errc::already_enabled) == "totp_already_enabled");
  CHECK(http::api_code(totp_errc::not_pending) == "totp_not_pending");
  CHECK(http::api_code(totp_errc::not_enabled) == "conflict");
  CHECK(http::api_code(totp_errc::internal) == "internal_error");
  CHECK(http::status_for(http::api_code(totp_errc::not_enabled)) == 409);
  // Both cross actors as CAF errors and come back typed.
  auto back = from_caf(caf::make_error(totp_errc::not_pending));
  CHECK(back.is(totp_errc::not_pending));
  CHECK(from_caf(caf::make_error(passkey_errc::webauthn_failed))
            .is(passkey_errc::webauthn_failed));
}
