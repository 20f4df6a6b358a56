#pragma once
// The WebAuthn tables: registered passkeys (webauthn_credentials) and the
// single-use ceremony challenges (webauthn_challenges). Plain functions that
// build db::statement / db::unit values for the DB actor, and the decoding
// of their rows into the structs below. No other file holds their SQL.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/users_store.hpp"
#include "db/value.hpp"

namespace authsvc::db::webauthn_store {

// -- rows ---------------------------------------------------------------------

/// A passkey as its owner sees it (the Passkey schema of openapi.yaml).
struct passkey_record {
  std::string id; ///< base64url credential id
  std::string name;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> last_used_at;
  bool backed_up = false;
  std::string transports; ///< a JSON array, as stored
};

/// A credential id of a user and its stored transports (JSON array text).
struct credential_ref {
  std::string id;
  std::string transports;
};

/// A challenge to be stored.
struct new_challenge {
  std::string id;
  std::string challenge; ///< base64url
  std::string purpose;   ///< "register" or "login"
  std::string user_id;   ///< "" = bound to no account
  std::string user_verification;
  bool discoverable = false;
  std::int64_t expires_at = 0;
};

/// What a registration answer needs from the database: its challenge and
/// the number of passkeys the user has.
struct registration_facts {
  std::string challenge;
  std::string user_id;
  std::string user_verification;
  std::int64_t expires_at = 0;
  std::int64_t passkeys = 0;
};

/// What a sign-in answer needs: its challenge, the named credential (if it
/// exists) and the two lock times of the source.
struct login_facts {
  std::string challenge;
  std::string bound_user;
  bool discoverable = false;
  std::string user_verification;
  std::int64_t expires_at = 0;
  bool credential_known = false; ///< a row of webauthn_credentials matched
  std::string user_id;           ///< the credential's owner
  std::string public_key;        ///< COSE key bytes
  std::int64_t sign_count = 0;
  bool user_disabled = false;
  std::int64_t locked_until = 0;
  std::int64_t source_locked_until = 0;
};

/// A passkey to be stored by register_credential.
struct new_credential {
  std::string id; ///< base64url
  std::string user_id;
  std::string public_key; ///< COSE key bytes
  std::int64_t alg = 0;
  std::int64_t sign_count = 0;
  std::string transports; ///< a JSON array
  std::string aaguid;
  std::string fmt;
  bool backup_eligible = false;
  bool backed_up = false;
  bool user_verified = false;
  std::string name;
  std::int64_t created_at = 0;
};

/// The passkey in row `row` (columns of passkey_columns()).
passkey_record decode_passkey(const rowset& rs, std::size_t row = 0);

// -- challenges ---------------------------------------------------------------

/// One unit: drops challenges that expired before `purge_before`, then
/// stores `c` (created now).
unit store_challenge(const new_challenge& c, std::int64_t now,
                     std::int64_t purge_before);

/// One unit that consumes challenge `id` of `purpose` whatever the
/// ceremony's outcome (it may be gone already: no row count demanded).
unit consume_challenge(const std::string& id, const std::string& purpose);

// -- registration -------------------------------------------------------------

/// The user's credentials (for excludeCredentials), oldest first.
statement credentials_of(const std::string& user_id);
std::vector<credential_ref> decode_credentials(const rowset& rs);

/// Reads a registration challenge and the user's passkey count, without
/// consuming the challenge.
statement registration_facts_of(const std::string& challenge_id,
                                const std::string& user_id);
/// Empty when the challenge does not exist.
std::optional<registration_facts> decode_registration_facts(const rowset& rs);

/// The registration unit: consume the challenge (challenge_not_found),
/// refuse an id already registered (credential_already_registered), store
/// the passkey within `max_passkeys` (passkey_limit_reached). Statement 2
/// returns the new passkey; callers may append more (the notice mail).
unit register_credential(const std::string& challenge_id,
                         const new_credential& c, std::int64_t max_passkeys);
/// The passkey a committed register_credential unit stored.
passkey_record decode_registered(const unit_result& r);

// -- sign-in ------------------------------------------------------------------

/// The account of `email` (enabled only) and its credential ids, oldest
/// first.
statement login_credentials_of(const std::string& email);
/// The user id ("" when unknown) and credential ids of that read.
struct login_credentials {
  std::string user_id;
  std::vector<std::string> credential_ids;
};
login_credentials decode_login_credentials(const rowset& rs);

/// Reads a login challenge with the credential `credential_id` names and
/// the lock times (method "webauthn", this `source`) of the credential's
/// owner and of the source alone.
statement login_facts_of(const std::string& challenge_id,
                         const std::string& credential_id,
                         const std::string& source);
/// Empty when the challenge does not exist.
std::optional<login_facts> decode_login_facts(const rowset& rs);

/// The sign-in unit's first three statements: consume the challenge
/// (challenge_not_found), store the counter and use (unknown_credential),
/// read the account (unknown_credential; statement 2). Callers append the
/// lockout reset.
unit use_credential(const std::string& challenge_id,
                    const std::string& credential_id,
                    const std::string& user_id, std::int64_t sign_count,
                    bool backed_up, std::int64_t now);
/// The account a committed use_credential unit read.
user_record decode_signed_in_user(const unit_result& r);

// -- the user's passkeys ------------------------------------------------------

/// The user's passkeys, oldest first.
statement passkeys_of(const std::string& user_id);
std::vector<passkey_record> decode_passkeys(const rowset& rs);

/// Renames one of the user's passkeys (not_found for another's); returns it.
unit rename_passkey(const std::string& id, const std::string& user_id,
                    const std::string& name);
/// The passkey a committed rename_passkey unit changed.
passkey_record decode_renamed(const unit_result& r);

/// Removes one of the user's passkeys (not_found for another's).
unit delete_passkey(const std::string& id, const std::string& user_id);

// -- sessions --

/// Removes ceremony challenges that expired before `now` (maintenance).
statement purge_challenges(std::int64_t now);
/// What "sign out everywhere" removed of the factors added recently.
struct removed_factors {
  std::vector<std::string> credential_ids;
  bool totp = false;
};

/// Removes the passkeys and the TOTP (with its recovery codes) `user_id`
/// added at or after `since`, in one unit (see totp_store for the TOTP).
unit remove_factors_since(const std::string& user_id, std::int64_t since);
removed_factors decode_removed_factors(const unit_result& r);

} // namespace authsvc::db::webauthn_store
