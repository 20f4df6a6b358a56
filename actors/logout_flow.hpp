#pragma once
// Signing out (POST /v1/auth/logout), shared by every front end: check the
// input (pure), revoke at the session actor, audit, and with scope global
// and remove_recent_factors_hours remove the factors added since then in one
// unit, auditing each. Callers answer and send the notice mail.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/db_timeout.hpp"
#include "actors/safe_request.hpp"
#include "actors/services.hpp"
#include "actors/session_errc.hpp"
#include "actors/type_ids.hpp"

namespace authsvc {

/// A logout request from any front end.
struct logout_input {
  std::string scope = "local";   ///< local, others or global
  std::int64_t remove_hours = 0; ///< 0 = keep every factor
  auth_context auth;             ///< who signs out
  std::string ip;
  std::string user_agent; ///< at most 512 characters
  std::string request_id;
  std::string actor;
};

/// What happened.
struct logout_outcome {
  std::int32_t revoked = 0; ///< sessions that were live
  bool factors_checked = false;
  std::size_t removed_passkeys = 0;
  bool removed_totp = false;
  /// Signing out other devices is worth a mail: if it was not the owner,
  /// the owner learns that someone holds their session.
  bool notify() const { return scope_local == false && revoked > 0; }
  bool scope_local = true;
};

namespace logout_detail {

/// The furthest back "sign out everywhere" may remove factors (30 days).
constexpr std::int64_t max_remove_hours = 720;

/// (field, problem) pairs for a validation_failed answer.
using field_problems = std::vector<std::pair<std::string, std::string>>;

/// Reads scope and remove_recent_factors_hours from a JSON body into `in`.
field_problems parse(const nlohmann::json& body, logout_input& in);

/// What the revocation at the session actor is.
revocation plan_revocation(const logout_input& in);

/// The one unit that removes the factors added since `since`.
db::unit plan_factor_removal(const std::string& user_id, std::int64_t since);

/// Audits `session.logout` for `in` with `revoked`.
void audit_logout(const services& svc, const logout_input& in,
                  std::int32_t revoked);

/// After the factor removal committed: audits each removed factor and fills
/// `out`.
void finish_factor_removal(const services& svc, const logout_input& in,
                           const db::unit_result& r, logout_outcome& out);

} // namespace logout_detail

/// Runs the flow from actor `self`. `done(result<logout_outcome>&)` is
/// called once, unless a round trip fails: then `fail(caf::error&)` is.
/// @pre the input passed `logout_detail::parse`, and a factor removal only
/// comes with a recent sign-in.
template <class Self, class Done, class Fail>
void run_logout(Self self, const services& svc, const logout_input& in,
                Done done, Fail fail) {
  namespace d = logout_detail;
  safe_request(self, svc.sessions, db_timeout, atom::revoke_atom_v,
               d::plan_revocation(in))
      .then(
          [self, svc, in, done, fail](std::int32_t n) mutable {
            d::audit_logout(svc, in, n);
            logout_outcome out;
            out.revoked = n;
            out.scope_local = in.scope == "local";
            if (in.remove_hours == 0) {
              result<logout_outcome> r{out};
              return done(r);
            }
            auto since = svc.clock->unix_seconds() - in.remove_hours * 3600;
            safe_request(self, svc.db, db_timeout, atom::write_atom_v,
                         d::plan_factor_removal(in.auth.user_id, since))
                .then(
                    [svc, in, out, done](db::unit_result& u) mutable {
                      if (!u.ok) {
                        result<logout_outcome> r{session_errc::internal,
                                                 "factor removal failed: "
                                                     + u.fail_code};
                        return done(r);
                      }
                      d::finish_factor_removal(svc, in, u, out);
                      result<logout_outcome> r{out};
                      done(r);
                    },
                    fail);
          },
          fail);
}

} // namespace authsvc
