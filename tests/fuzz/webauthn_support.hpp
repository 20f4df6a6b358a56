#pragma once
// What the WebAuthn targets share: the trust anchors of the shared vectors
// (so certificate chains get built and checked, not refused up front) and
// a fixed verification time inside their validity.
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/webauthn/attestation.hpp"

namespace authsvc::fuzz {

inline const auth::webauthn::attestation_policy& fuzz_attestation_policy() {
  static const auto policy = [] {
    auth::webauthn::attestation_policy p;
    p.verify_time = 1700000000; // 2023-11-14: the vectors' certificates hold
    std::ifstream in(AUTHSVC_SHARED_DIR "/webauthn-vectors/trust_anchors.json");
    auto doc = nlohmann::json::parse(in, nullptr, false);
    if (doc.is_object() && doc.contains("roots"))
      for (const auto& [name, root] : doc["roots"].items())
        p.trust_anchors.push_back({name, root.value("pem", "")});
    return p;
  }();
  return policy;
}

} // namespace authsvc::fuzz
