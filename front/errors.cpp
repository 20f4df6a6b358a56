#include "front/errors.hpp"

#include <unordered_map>

namespace authsvc::http {

namespace {

struct info {
  std::uint16_t status;
  const char* message;
};

const std::unordered_map<std::string_view, info>& table() {
  static const std::unordered_map<std::string_view, info> t = {
      {"bad_request", {400, "The request could not be understood."}},
      {"invalid_json", {400, "The request body is not valid JSON."}},
      {"unsupported_media_type",
       {415, "The request body must be application/json."}},
      {"validation_failed", {422, "Some fields are missing or invalid."}},
      {"payload_too_large", {413, "The request body is too large."}},
      {"header_too_large", {431, "The request headers are too large."}},
      {"not_found", {404, "No such resource."}},
      {"method_not_allowed", {405, "This method is not allowed here."}},
      {"unauthorized", {401, "Authentication is required."}},
      {"forbidden", {403, "Access denied."}},
      {"cors_denied", {403, "This origin may not call the API."}},
      {"reauthentication_required",
       {403, "Sign in again to continue: this change needs a recent sign-in."}},
      {"rate_limited", {429, "Too many requests. Please try again later."}},
      {"conflict", {409, "The request conflicts with the current state."}},
      {"internal_error", {500, "An internal error occurred."}},
      {"service_unavailable", {503, "The service is not ready."}},
      {"invalid_link", {400, "This sign-in link is invalid or has expired."}},
      {"handover_refused",
       {400, "The number did not match; the sign-in was cancelled."}},
      {"cross_site_request",
       {403, "This form may only be sent from the service's own pages."}},
      {"invalid_code", {400, "The code is invalid."}},
      {"flow_expired", {400, "This sign-in has expired. Please start again."}},
      {"invalid_exchange_code",
       {400, "The exchange code is invalid or expired."}},
      {"invalid_refresh_token",
       {401, "The refresh token is invalid or expired."}},
      {"refresh_token_reused",
       {401, "The refresh token was already used; the session was revoked."}},
      {"webauthn_failed", {400, "The passkey could not be verified."}},
      {"attestation_not_trusted",
       {400, "This authenticator is not accepted here; use another one."}},
      {"challenge_expired", {400, "The challenge has expired."}},
      {"challenge_not_found",
       {400, "The challenge is unknown or already used."}},
      {"passkey_limit_reached",
       {409, "The maximum number of passkeys is reached."}},
      {"totp_not_pending", {409, "There is no pending TOTP enrolment."}},
      {"totp_already_enabled", {409, "TOTP is already enabled."}},
      {"signup_disabled", {403, "Sign-up is disabled."}},
      {"redirect_not_allowed", {422, "redirect_to is not in the allow list."}},
      {"would_lock_out_caller",
       {409, "This change would block your own address; send force: true "
             "to make it anyway."}},
  };
  return t;
}

} // namespace

std::uint16_t status_for(std::string_view code) {
  auto it = table().find(code);
  return it == table().end() ? 500 : it->second.status;
}

bool is_known_code(std::string_view code) {
  return table().count(code) != 0;
}

std::string default_message(std::string_view code) {
  auto it = table().find(code);
  return it == table().end() ? "An error occurred." : it->second.message;
}

response error_response(const api_error& err, const std::string& request_id) {
  nlohmann::json e = {
      {"code", err.code},
      {"message",
       err.message.empty() ? default_message(err.code) : err.message},
      {"request_id", request_id},
  };
  if (!err.details.is_null() && !err.details.empty())
    e["details"] = err.details;
  auto r = json_response(err.status ? err.status : status_for(err.code),
                         {{"error", e}});
  return r;
}

response json_response(std::uint16_t status, const nlohmann::json& body) {
  response r;
  r.status = status;
  r.set_header("Content-Type", "application/json; charset=utf-8");
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

} // namespace authsvc::http
