#include "http/error_table.hpp"

#include "actors/email_errc.hpp"
#include "db/store_errc.hpp"
#include "http/admin_errc.hpp"
#include "http/request_errc.hpp"

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

// -- add a code_of() per domain above this line ------------------------------

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
    case error_domain::admin:
      code = code_in<admin_errc>(e);
      break;
    case error_domain::email:
      code = code_in<email_errc>(e);
      break;
    // Domains whose enums are not wired yet answer internal_error; every
    // domain gets its row as its owner moves to typed errors.
    case error_domain::session:
    case error_domain::passkey:
    case error_domain::webauthn:
    case error_domain::totp:
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
