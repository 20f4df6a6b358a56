// JSON request bodies: the front's parse_json_body (media type, JSON, an
// object) on any bytes, then the pure validators each route family runs on
// the fields it reads: email starts and TOTP (email, redirect_to, code),
// passkeys (the PublicKeyCredential JSON), admin (cidr, url), recovery
// codes. The first input byte picks the Content-Type, the rest is the body.
#include <array>

#include "auth/cidr.hpp"
#include "auth/email_address.hpp"
#include "auth/recovery_codes.hpp"
#include "auth/url.hpp"
#include "auth/webauthn/credential_json.hpp"
#include "front/middleware.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace authsvc;
using authsvc::fuzz::check;

namespace {

const nlohmann::json* string_field(const nlohmann::json& body,
                                   const char* name) {
  auto it = body.find(name);
  return it != body.end() && it->is_string() ? &*it : nullptr;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0)
    return 0;
  static constexpr std::array<const char*, 4> types{
      "application/json", "application/json; charset=utf-8",
      "Application/JSON ;x=y", "text/plain"};
  http::request req;
  req.method = "POST";
  req.target = "/v1/auth/email/start";
  req.headers.push_back({"Content-Type", types[data[0] % types.size()]});
  req.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  auto parsed = http::parse_json_body(req);
  check(parsed.value.has_value() != parsed.error.has_value(),
        "a body both parsed and refused, or neither");
  if (!parsed.value)
    return 0;
  const auto& body = *parsed.value;
  check(body.is_object(), "an accepted body that is not an object");
  if (const auto* email = string_field(body, "email"))
    (void)auth::normalise_email(email->get<std::string>());
  if (const auto* redirect = string_field(body, "redirect_to"))
    (void)auth::redirect_allowed(
        redirect->get<std::string>(),
        std::vector<std::string>{"https://app.example.com/"});
  if (const auto* url = string_field(body, "url"))
    (void)auth::parse_url(url->get<std::string>());
  if (const auto* cidr = string_field(body, "cidr"))
    (void)auth::cidr_block::parse(cidr->get<std::string>());
  if (const auto* code = string_field(body, "code")) {
    auto c = auth::normalize_recovery_code(code->get<std::string>());
    (void)auth::is_well_formed_recovery_code(c);
  }
  // Passkey routes: the credential member, or the body itself.
  auto credential = body.find("credential");
  (void)auth::webauthn::parse_credential_json(
      credential != body.end() ? *credential : body);
  return 0;
}
