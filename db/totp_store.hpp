#pragma once
// The TOTP tables: the sealed authenticator-app secret of an account (totp)
// and its one-shot recovery codes (recovery_codes). Plain functions that
// build db::statement / db::unit values for the DB actor, and the decoding
// of their rows. No other file holds their SQL.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/users_store.hpp"
#include "db/value.hpp"

namespace authsvc::db::totp_store {

// -- rows ---------------------------------------------------------------------

/// An account's TOTP row as the checks need it.
struct totp_state {
  value secret_enc; ///< the sealed secret, exactly as stored
  bool confirmed = false;
  std::int64_t last_used_step = 0;
  std::int64_t locked_until = 0; ///< 0 where the read has no lock column
};

/// What a sign-in by email and TOTP code needs: the account (if enabled)
/// and its TOTP row (if any).
struct sign_in_facts {
  std::optional<user_record> user; ///< empty: no enabled account
  std::optional<totp_state> totp;  ///< empty: no confirmed TOTP
  std::int64_t locked_until = 0;
};

/// What a sign-in by email and recovery code needs.
struct recovery_facts {
  std::optional<user_record> user; ///< empty: no enabled account
  std::int64_t locked_until = 0;
  bool code_live = false;
};

// -- enrolment ----------------------------------------------------------------

/// Stores a pending secret; a pending one is replaced, a confirmed one stays
/// (the unit then fails with totp_already_enabled).
unit enrol(const std::string& user_id, const std::string& sealed,
           std::int64_t now);

/// Reads the account's secret and whether it is confirmed.
statement pending_of(const std::string& user_id);
/// Empty when there is no row.
std::optional<totp_state> decode_pending(const rowset& rs);

/// Confirms the secret the user saw (totp_not_pending when a concurrent
/// re-enrolment replaced it). The first statement of the confirm unit.
statement confirm(const std::string& user_id, const value& sealed,
                  std::int64_t step, std::int64_t now);

// -- checks of the signed-in user's code --------------------------------------

/// Reads the account's TOTP row with the lock of (user, "totp", source).
statement current_of(const std::string& user_id, const std::string& source);
/// Empty when there is no row.
std::optional<totp_state> decode_current(const rowset& rs);

/// Removes a confirmed TOTP when `step` is newer than the last used one
/// (invalid_code otherwise).
statement remove(const std::string& user_id, std::int64_t step);

/// Moves the last used step to `step` (invalid_code when not newer).
statement use_step(const std::string& user_id, std::int64_t step);

// -- sign-in ------------------------------------------------------------------

/// Reads the enabled account of `email`, its TOTP row and the lock of
/// (account, "totp", source).
statement sign_in_facts_of(const std::string& email, const std::string& source);
sign_in_facts decode_sign_in_facts(const rowset& rs);

/// Moves the last used step to `step`, unless it is not newer or the source
/// got locked since the read (invalid_code).
statement use_step_unless_locked(const std::string& user_id, std::int64_t step,
                                 const std::string& source, std::int64_t now);

// -- recovery codes -----------------------------------------------------------

/// Appends to `u` the removal of the user's recovery codes and the insert
/// of each of `hashes`.
void replace_recovery_codes(unit& u, const std::string& user_id,
                            const std::vector<std::string>& hashes,
                            std::int64_t now);

/// Removes every recovery code of the user.
statement remove_recovery_codes(const std::string& user_id);

/// Reads the enabled account of `email`, the lock of (account,
/// "recovery_code", source) and whether `code_hash` is a live code of it.
statement recovery_facts_of(const std::string& email,
                            const std::string& code_hash,
                            const std::string& source);
recovery_facts decode_recovery_facts(const rowset& rs);

/// Burns one live recovery code (invalid_code when it is not live).
statement burn_recovery_code(const std::string& user_id,
                             const std::string& code_hash, std::int64_t now);

// -- sessions --

/// Removes `user_id`'s TOTP set up at or after `since` (counted from its
/// confirmation, a pending secret from its creation) and its recovery codes:
/// two statements; the second returns user_id when a TOTP went.
void append_remove_since(unit& u, const std::string& user_id,
                         std::int64_t since);

} // namespace authsvc::db::totp_store
