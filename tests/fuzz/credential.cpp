// A whole passkey ceremony from the client's PublicKeyCredential JSON: the
// JSON parse, then registration or assertion verification with the RP's
// checks (client data, authenticator data, attestation, signature). Seeds
// are the shared WebAuthn vectors' responses.
#include "auth/url.hpp"
#include "auth/webauthn/client_data.hpp"
#include "auth/webauthn/credential_json.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/webauthn_support.hpp"

using namespace authsvc::auth;
using namespace authsvc::auth::webauthn;

namespace {

/// The policy the input itself satisfies where it can: challenge, origin
/// and RP ID taken from its clientDataJSON, so mutations get past those
/// checks to the authenticator data, attestation and signature code.
void accept_own_client_data(const bytes& client_data_json,
                            ceremony_policy& policy) {
  policy.expected_challenge = {1, 2, 3, 4};
  policy.allow_cross_origin = true;
  auto cd = parse_client_data(client_data_json);
  if (!cd)
    return;
  if (auto challenge = base64url_decode(cd->challenge))
    policy.expected_challenge = *challenge;
  policy.origins = {cd->origin};
  if (auto u = parse_url(cd->origin))
    policy.rp_ids = {u->host};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto j = nlohmann::json::parse(authsvc::fuzz::as_text(data, size), nullptr,
                                 false);
  if (j.is_discarded())
    return 0;
  auto parsed = parse_credential_json(j);
  if (!parsed)
    return 0;
  if (parsed->is_registration()) {
    const auto& r = std::get<registration_response>(parsed->response);
    registration_options o;
    accept_own_client_data(r.client_data_json, o);
    o.attestation = authsvc::fuzz::fuzz_attestation_policy();
    (void)verify_registration(r, o);
  } else {
    const auto& a = std::get<assertion_response>(parsed->response);
    assertion_options o;
    accept_own_client_data(a.client_data_json, o);
    o.credential.credential_id = a.raw_id;
    (void)verify_assertion(a, o);
  }
  return 0;
}
