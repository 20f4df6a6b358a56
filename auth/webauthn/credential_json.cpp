#include "auth/webauthn/credential_json.hpp"

#include <nlohmann/json.hpp>

namespace authsvc::auth::webauthn {

namespace {

using nlohmann::json;

failure malformed(std::string detail) {
  return failure{errc::malformed_credential, std::move(detail)};
}

// A required base64url member of `obj`.
result<bytes> binary(const json& obj, const char* key) {
  auto i = obj.find(key);
  if (i == obj.end() || !i->is_string())
    return malformed(std::string{key} + " missing");
  auto decoded = base64url_decode(i->get_ref<const std::string&>());
  if (!decoded)
    return malformed(std::string{key} + " is not base64url");
  return std::move(*decoded);
}

// An optional string member; null counts as absent.
result<std::string> optional_text(const json& obj, const char* key) {
  auto i = obj.find(key);
  if (i == obj.end() || i->is_null())
    return std::string{};
  if (!i->is_string())
    return malformed(std::string{key} + " is not a string");
  return i->get<std::string>();
}

} // namespace

result<parsed_credential> parse_credential_json(const json& cred) {
  if (!cred.is_object())
    return malformed("credential is not an object");
  auto type = cred.find("type");
  if (type == cred.end() || !type->is_string()
      || type->get_ref<const std::string&>() != "public-key")
    return malformed("type is not public-key");
  auto id_it = cred.find("id");
  if (id_it == cred.end() || !id_it->is_string())
    return malformed("id missing");
  auto id_bytes = binary(cred, "id");
  auto raw_id = binary(cred, "rawId");
  if (!id_bytes)
    return id_bytes.err();
  if (!raw_id)
    return raw_id.err();
  if (id_bytes.value() != raw_id.value())
    return malformed("id and rawId differ");
  auto attachment = optional_text(cred, "authenticatorAttachment");
  if (!attachment)
    return attachment.err();
  auto resp = cred.find("response");
  if (resp == cred.end() || !resp->is_object())
    return malformed("response missing");
  auto client_data = binary(*resp, "clientDataJSON");
  if (!client_data)
    return client_data.err();
  if (resp->contains("attestationObject")) {
    registration_response out;
    out.id = id_it->get<std::string>();
    out.raw_id = std::move(raw_id.value());
    out.client_data_json = std::move(client_data.value());
    auto att = binary(*resp, "attestationObject");
    if (!att)
      return att.err();
    out.attestation_object = std::move(att.value());
    if (auto t = resp->find("transports"); t != resp->end() && !t->is_null()) {
      if (!t->is_array())
        return malformed("transports is not an array");
      for (const auto& entry : *t) {
        if (!entry.is_string())
          return malformed("transport is not a string");
        out.transports.push_back(entry.get<std::string>());
      }
    }
    out.authenticator_attachment = std::move(attachment.value());
    return parsed_credential{std::move(out)};
  }
  assertion_response out;
  out.id = id_it->get<std::string>();
  out.raw_id = std::move(raw_id.value());
  out.client_data_json = std::move(client_data.value());
  auto auth_data = binary(*resp, "authenticatorData");
  if (!auth_data)
    return auth_data.err();
  auto signature = binary(*resp, "signature");
  if (!signature)
    return signature.err();
  out.authenticator_data = std::move(auth_data.value());
  out.signature = std::move(signature.value());
  if (auto h = resp->find("userHandle"); h != resp->end() && !h->is_null()) {
    auto handle = binary(*resp, "userHandle");
    if (!handle)
      return handle.err();
    // An empty string is how some clients say "no user handle".
    if (!handle->empty())
      out.user_handle = std::move(handle.value());
  }
  out.authenticator_attachment = std::move(attachment.value());
  return parsed_credential{std::move(out)};
}

result<registration_response> parse_registration_credential(const json& cred) {
  auto parsed = parse_credential_json(cred);
  if (!parsed)
    return parsed.err();
  if (!parsed->is_registration())
    return malformed("not a registration response");
  return std::get<registration_response>(std::move(parsed.value().response));
}

result<assertion_response> parse_assertion_credential(const json& cred) {
  auto parsed = parse_credential_json(cred);
  if (!parsed)
    return parsed.err();
  if (parsed->is_registration())
    return malformed("not an assertion response");
  return std::get<assertion_response>(std::move(parsed.value().response));
}

} // namespace authsvc::auth::webauthn
