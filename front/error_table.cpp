#include "front/error_table.hpp"

#include "actors/email_errc.hpp"
#include "actors/passkey_errc.hpp"
#include "actors/session_errc.hpp"
#include "actors/totp_errc.hpp"
#include "db/store_errc.hpp"
#include "front/admin_errc.hpp"
#include "front/request_errc.hpp"

namespace authsvc::http {

namespace {

// -- one function per domain: a case per value, no default -------------------

std::string_view code_of(request_errc e) {
  switch (e) {
    case request_errc::bad_request:
      return "bad_request";
    case request_errc::invalid_json:
      return "invalid_json";
    case request_errc::unsupported_media_type:
      return "unsupported_media_type";
    case request_errc::validation_failed:
      return "validation_failed";
    case request_errc::payload_too_large:
      return "payload_too_large";
    case request_errc::header_too_large:
      return "header_too_large";
    case request_errc::not_found:
      return "not_found";
    case request_errc::method_not_allowed:
      return "method_not_allowed";
    case request_errc::unauthorized:
      return "unauthorized";
    case request_errc::forbidden:
      return "forbidden";
    case request_errc::cors_denied:
      return "cors_denied";
    case request_errc::cross_site_request:
      return "cross_site_request";
    case request_errc::rate_limited:
      return "rate_limited";
    case request_errc::conflict:
      return "conflict";
    case request_errc::internal_error:
      return "internal_error";
    case request_errc::service_unavailable:
      return "service_unavailable";
    case request_errc::reauthentication_required:
      return "reauthentication_required";
  }
  return {};
}

std::string_view code_of(db::store_errc e) {
  switch (e) {
    case db::store_errc::unavailable:
      return "service_unavailable";
    case db::store_errc::constraint:
      return "conflict";
    case db::store_errc::not_found:
      return "not_found";
  }
  return {};
}

std::string_view code_of(email_errc e) {
  switch (e) {
    case email_errc::invalid_link:
      return "invalid_link";
    case email_errc::invalid_code:
      return "invalid_code";
    case email_errc::flow_expired:
      return "flow_expired";
    case email_errc::handover_refused:
      return "handover_refused";
    case email_errc::invalid_exchange_code:
      return "invalid_exchange_code";
    case email_errc::signup_disabled:
      return "signup_disabled";
    case email_errc::redirect_not_allowed:
      return "redirect_not_allowed";
  }
  return {};
}

std::string_view code_of(passkey_errc e) {
  switch (e) {
    case passkey_errc::challenge_not_found:
      return "challenge_not_found";
    case passkey_errc::challenge_expired:
      return "challenge_expired";
    case passkey_errc::webauthn_failed:
      return "webauthn_failed";
    case passkey_errc::attestation_not_trusted:
      return "attestation_not_trusted";
    case passkey_errc::passkey_limit_reached:
      return "passkey_limit_reached";
    case passkey_errc::not_found:
      return "not_found";
    case passkey_errc::internal:
      return "internal_error";
  }
  return {};
}

std::string_view code_of(session_errc e) {
  switch (e) {
    case session_errc::invalid_refresh_token:
      return "invalid_refresh_token";
    case session_errc::refresh_token_reused:
      return "refresh_token_reused";
    case session_errc::unauthorized:
      return "unauthorized";
    case session_errc::unavailable:
      return "service_unavailable";
    case session_errc::internal:
      return "internal_error";
  }
  return {};
}

std::string_view code_of(totp_errc e) {
  switch (e) {
    case totp_errc::invalid_code:
      return "invalid_code";
    case totp_errc::already_enabled:
      return "totp_already_enabled";
    case totp_errc::not_pending:
      return "totp_not_pending";
    case totp_errc::not_enabled:
      return "conflict";
    case totp_errc::internal:
      return "internal_error";
  }
  return {};
}

std::string_view code_of(admin_errc e) {
  switch (e) {
    case admin_errc::not_found:
      return "not_found";
    case admin_errc::conflict:
      return "conflict";
    case admin_errc::validation_failed:
      return "validation_failed";
    case admin_errc::would_lock_out_caller:
      return "would_lock_out_caller";
  }
  return {};
}

template <class E>
std::string_view code_in(const error& e) {
  return code_of(static_cast<E>(e.code()));
}

} // namespace

std::string_view api_code(const error& e) {
  std::string_view code;
  switch (e.domain()) {
    case error_domain::request:
      code = code_in<request_errc>(e);
      break;
    case error_domain::store:
      code = code_in<db::store_errc>(e);
      break;
    case error_domain::session:
      code = code_in<session_errc>(e);
      break;
    case error_domain::email:
      code = code_in<email_errc>(e);
      break;
    case error_domain::passkey:
      code = code_in<passkey_errc>(e);
      break;
    case error_domain::totp:
      code = code_in<totp_errc>(e);
      break;
    case error_domain::admin:
      code = code_in<admin_errc>(e);
      break;
    // WebAuthn protocol codes reach clients as details.reason of
    // webauthn_failed (passkey_errc), never as a code of their own.
    case error_domain::webauthn:
      break;
  }
  return code.empty() ? std::string_view{"internal_error"} : code;
}

api_error to_api_error(const error& e) {
  api_error out;
  out.code = std::string(api_code(e));
  return out;
}

} // namespace authsvc::http
