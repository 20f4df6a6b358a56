#include "auth/webauthn/attestation_trust.hpp"

#include <string>

namespace authsvc::auth::webauthn {

std::string_view to_string(attestation_trust policy) {
  switch (policy) {
  case attestation_trust::none:
    return "none";
  case attestation_trust::allow_self:
    return "allow-self";
  case attestation_trust::require_trusted:
    return "require-trusted";
  }
  return "none";
}

std::optional<attestation_trust>
parse_attestation_trust(std::string_view text) {
  for (auto p : {attestation_trust::none, attestation_trust::allow_self,
                 attestation_trust::require_trusted})
    if (text == to_string(p))
      return p;
  return std::nullopt;
}

status check_attestation_trust(attestation_trust policy, attestation_type type,
                               bool chained_to_anchor) {
  // Only a chain validated up to an anchor says who made the authenticator;
  // an x5c without one could be any key with a self-made certificate.
  bool trusted = chained_to_anchor && type != attestation_type::none
                 && type != attestation_type::self;
  switch (policy) {
  case attestation_trust::none:
    return passed{};
  case attestation_trust::allow_self:
    if (trusted || type == attestation_type::self)
      return passed{};
    break;
  case attestation_trust::require_trusted:
    if (trusted)
      return passed{};
    break;
  }
  return {errc::attestation_not_trusted,
          std::string("attestation ") + std::string(to_string(type))
              + (chained_to_anchor ? " (chained)" : " (no trusted chain)")
              + " refused by policy " + std::string(to_string(policy))};
}

} // namespace authsvc::auth::webauthn
