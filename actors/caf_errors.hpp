#pragma once
// Typed errors across actors: every domain enum that an actor answers with is
// registered with CAF (CAF_ERROR_CODE_ENUM, category = the domain's name), so
// `caf::make_error(session_errc::...)` travels in a response, also to other
// nodes, and the requester turns it back into an authsvc::error here.
// Register an enum next to its declaration:
//   CAF_ERROR_CODE_ENUM(authsvc::session_errc, "session")
#include <caf/atom.hpp>
#include <caf/error.hpp>

#include "auth/result.hpp"

namespace authsvc {

/// The CAF error category of each domain (atom texts of at most ten chars).
inline caf::atom_value caf_category(error_domain d) {
  switch (d) {
  case error_domain::request:
    return caf::atom("request");
  case error_domain::session:
    return caf::atom("session");
  case error_domain::email:
    return caf::atom("email");
  case error_domain::passkey:
    return caf::atom("passkey");
  case error_domain::webauthn:
    return caf::atom("webauthn");
  case error_domain::totp:
    return caf::atom("totp");
  case error_domain::admin:
    return caf::atom("admin");
  case error_domain::store:
    return caf::atom("store");
  }
  return caf::atom("store");
}

/// A caf::error back into a typed error. CAF's own errors (a request that
/// timed out, a dead actor) become store_errc::unavailable-like failures of
/// the `store` domain with code 1, carrying CAF's text as the detail.
inline error from_caf(const caf::error& e) {
  for (auto d :
       {error_domain::request, error_domain::session, error_domain::email,
        error_domain::passkey, error_domain::webauthn, error_domain::totp,
        error_domain::admin, error_domain::store})
    if (e.category() == caf_category(d))
      return error{d, e.code()};
  return error{error_domain::store, 1, caf::to_string(e)};
}

} // namespace authsvc
