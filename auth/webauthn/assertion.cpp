#include "auth/webauthn/assertion.hpp"

#include <algorithm>

#include "auth/crypto.hpp"
#include "auth/webauthn/client_data.hpp"
#include "auth/webauthn/cose_key.hpp"

namespace authsvc::auth::webauthn {

result<verified_assertion> verify_assertion(const assertion_response& response,
                                            const assertion_options& options) {
  const auto& stored = options.credential;
  // The stored key comes from our database, but a corrupt row must fail
  // cleanly rather than verify against nothing.
  auto key = parse_cose_key(stored.public_key);
  if (!key)
    return key.err();
  if (!options.allowed_algorithms.empty()
      && std::find(options.allowed_algorithms.begin(),
                   options.allowed_algorithms.end(), key->alg)
             == options.allowed_algorithms.end())
    return {errc::unsupported_algorithm, "stored key alg not allowed"};
  // Steps 5-6: the credential and its owner.
  if (!stored.credential_id.empty()
      && !constant_time_equal(response.raw_id, stored.credential_id))
    return {errc::credential_id_mismatch, "rawId is not the credential"};
  if (options.require_user_handle && !response.user_handle)
    return {errc::user_handle_missing, "no userHandle (usernameless)"};
  if (!stored.user_handle.empty() && response.user_handle
      && !constant_time_equal(*response.user_handle, stored.user_handle))
    return {errc::user_handle_mismatch, "userHandle differs"};
  // Steps 10-16: the client data.
  auto cd = parse_client_data(response.client_data_json);
  if (!cd)
    return cd.err();
  if (auto st = check_client_data(*cd, options, "webauthn.get"); !st)
    return st.err();
  // Steps 17-20: the authenticator data.
  auto ad = parse_authenticator_data(response.authenticator_data);
  if (!ad)
    return ad.err();
  if (auto st = check_authenticator_data(*ad, options); !st)
    return st.err();
  // Steps 21-22: the signature over authenticatorData || SHA-256(cData).
  bytes signed_data = response.authenticator_data;
  bytes hash = sha256(response.client_data_json);
  signed_data.insert(signed_data.end(), hash.begin(), hash.end());
  if (!verify_signature(key->alg, key->pkey.get(), signed_data,
                        response.signature))
    return {errc::signature_invalid, "assertion signature"};
  // Step 23: the signature counter. Synced passkeys report 0 forever.
  verified_assertion out;
  out.sign_count = ad->sign_count;
  bool both_zero = ad->sign_count == 0 && stored.sign_count == 0;
  out.counter_regressed = !both_zero && ad->sign_count <= stored.sign_count;
  if (out.counter_regressed && options.reject_counter_regression)
    return {errc::counter_regression,
            "counter " + std::to_string(ad->sign_count)
                + " <= " + std::to_string(stored.sign_count)};
  out.credential_id = response.raw_id;
  out.flags = ad->flags;
  out.user_handle = response.user_handle;
  out.authenticator_attachment = response.authenticator_attachment;
  out.extensions = ad->extensions;
  return out;
}

} // namespace authsvc::auth::webauthn
