#pragma once
// Fixed test keys of the JWS target (generated for it, never used anywhere
// else), so the committed seed tokens carry valid signatures and mutations
// start from tokens that pass every check.
#include <vector>

#include "auth/signing_key.hpp"

namespace authsvc::fuzz {

inline constexpr const char* jws_ec_pem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrtDPw1xbuQorp7+T
gABJeW8HD4otsvQCEnrKVoP0j7qhRANCAASAr90CsJu8PpIwzqBXhai5lRmVv0NU
A17CzGBSr0FI2yUpUq/61Ql5sQ1k1YzfJKZYclWutnpUKJ6/qc0/KVUU
-----END PRIVATE KEY-----
)";

inline constexpr const char* jws_ed_pem = R"(-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIFnm9Qcm/AaqywECtuzGMj8MgV7pWW3E6Uz3Wo/An6fW
-----END PRIVATE KEY-----
)";

inline const std::vector<auth::signing_key>& jws_keys() {
  static const auto keys = [] {
    std::vector<auth::signing_key> k;
    for (const char* pem : {jws_ec_pem, jws_ed_pem})
      if (auto key = auth::signing_key::from_pkcs8_pem(pem))
        k.push_back(std::move(*key));
    return k;
  }();
  return keys;
}

inline auth::jws_verify_options jws_options() {
  auth::jws_verify_options o;
  o.algorithms
      = {auth::jws_alg::es256, auth::jws_alg::eddsa, auth::jws_alg::rs256};
  o.now = 1700000000;
  o.leeway = 30;
  o.issuer = "https://auth.example.com";
  o.audience = "example-app";
  return o;
}

} // namespace authsvc::fuzz
