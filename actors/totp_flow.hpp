#pragma once
// TOTP enrolment, TOTP checks and recovery-code sign-in as flows: read the
// facts (one query) -> a pure plan (the functions below: no actors, no I/O,
// unit-tested in tests/unit/totp_flow_test.cpp) -> one write unit -> audit
// -> notify. The handlers in http/totp_routes.cpp translate JSON to the
// inputs and the typed outcomes (totp_errc) to answers.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "actors/services.hpp"
#include "actors/totp_errc.hpp"
#include "auth/result.hpp"
#include "db/totp_store.hpp"

namespace authsvc::totp_flow {

/// The lockout methods of the two secrets.
constexpr const char* totp_method = "totp";
constexpr const char* recovery_method = "recovery_code";

/// Six ASCII digits.
bool six_digits(const std::string& s);

/// What a notice mail to the signed-in user shows.
struct notice_input {
  user_info user;
  std::string ip;
  std::string user_agent;
  std::string locale;
};

// -- enrolment ----------------------------------------------------------------

/// A new pending secret: what the user is shown and the unit that stores it.
struct enrolment {
  std::string secret;      ///< base32
  std::string otpauth_uri; ///< for the authenticator app
  std::string qr_svg;      ///< the URI as a QR code
  db::unit write;
};

/// Plans an enrolment of `secret` for the account (internal when the QR
/// code cannot be drawn).
result<enrolment> plan_enrol(const config::settings& cfg, const key_ring& keys,
                             const std::string& user_id,
                             const std::string& email,
                             const auth::bytes& secret, std::int64_t now);

/// The confirmation of a pending secret and its fresh recovery codes.
struct confirmation {
  std::vector<std::string> recovery_codes; ///< shown once
  db::unit write; ///< confirm, lockout reset, codes, totp_enabled notice
};

/// Checks `code` against the pending secret (`pending`: the account's row,
/// empty when there is none): not_pending, internal (secret undecryptable)
/// or invalid_code; else the unit that confirms it with `fresh_codes`.
result<confirmation> plan_confirm(const services& svc, const std::string& user_id,
                                  const std::optional<db::totp_store::totp_state>& pending,
                                  const std::string& code,
                                  const notice_input& notice,
                                  std::vector<std::string> fresh_codes,
                                  std::int64_t now);

// -- checks of a current code -------------------------------------------------

/// How a code compared with an account's confirmed TOTP.
enum class verdict : std::uint8_t {
  not_enabled,   ///< no row, or not confirmed
  locked,        ///< the method is locked for this source
  undecryptable, ///< the sealed secret does not open (a key problem)
  wrong_code,    ///< wrong or replayed
  ok,
};

struct code_check {
  verdict result = verdict::not_enabled;
  std::int64_t step = 0; ///< the matched time step when ok
};

/// Checks `code` for the account (`t`: its row, empty when there is none)
/// at `now` (one step of drift, never a step at or before the last used).
code_check check_code(const key_ring& keys, const std::string& user_id,
                      const std::optional<db::totp_store::totp_state>& t,
                      const std::string& code, std::int64_t now);

/// The unit that removes TOTP after a fresh code (`step`), with its
/// recovery codes and both methods' lockout counts.
db::unit disable_unit(const std::string& user_id, std::int64_t step);

/// The unit that spends `step` and replaces the recovery codes with
/// `fresh_codes` (their hashes).
db::unit regenerate_unit(const key_ring& keys, const std::string& user_id,
                         std::int64_t step, const std::string& source,
                         const std::vector<std::string>& fresh_codes,
                         std::int64_t now);

/// The unit of a TOTP sign-in: spends `step` unless the source got locked
/// since the read, and resets the source's count.
db::unit sign_in_unit(const std::string& user_id, std::int64_t step,
                      const std::string& source, std::int64_t now);

// -- recovery codes -----------------------------------------------------------

/// The stored hash of a recovery code as typed.
std::string recovery_hash(const key_ring& keys, const std::string& code);

/// How a recovery-code sign-in compares with the facts.
enum class recovery_verdict : std::uint8_t { unknown, locked, wrong_code, ok };

recovery_verdict check_recovery(const db::totp_store::recovery_facts& f,
                                std::int64_t now);

/// The unit of a recovery-code sign-in: burns the code, resets the count.
db::unit recovery_unit(const std::string& user_id, const std::string& hash,
                       const std::string& source, std::int64_t now);

} // namespace authsvc::totp_flow
