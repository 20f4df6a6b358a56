#pragma once
// The users table: the statements that read and change accounts, and the
// decoding of their rows. Plain functions that build db::statement / db::unit
// values; the DB actor runs them. No other file holds users SQL.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/result.hpp"
#include "db/value.hpp"

namespace authsvc::db {

/// A user as clients see it (also the message type user_info).
struct user_record {
  std::string id;
  std::string email;
  std::string display_name;
  std::string locale;
  std::int64_t created_at = 0;
  bool disabled = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_record& x) {
  return f(x.id, x.email, x.display_name, x.locale, x.created_at, x.disabled);
}

namespace users_store {

/// The user in row `row` of a result with the columns id, email,
/// display_name, locale, created_at and optionally disabled.
user_record decode_user(const rowset& rs, std::size_t row = 0);

// -- operations: each a function building its statement or unit -------------
// (sections per area keep parallel work apart; keep new ones in your area)

// -- admin --

/// Reads whether a user with id `id` exists (decode with decode_exists()).
statement user_exists(const std::string& id);

/// The outcome of user_exists(): store_errc::not_found for no such user.
result<done> decode_exists(const rowset& rs);

/// A user as the admin API shows it: the profile, the lockout in force and
/// what the account holds.
struct admin_user {
  std::string id;
  std::string email;
  std::optional<std::string> display_name;
  std::optional<std::string> locale;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  bool disabled = false;
  /// The latest lockout of any method still in force at `now`.
  std::optional<std::int64_t> locked_until;
  std::int64_t sessions = 0; ///< live at `now`
  std::int64_t passkeys = 0;
  std::int64_t totp = 0;           ///< confirmed enrolments
  std::int64_t recovery_codes = 0; ///< unused
  // -- metadata (account lifecycle) --
  std::string user_metadata = "{}"; ///< JSON object text, as stored
  std::string app_metadata = "{}";  ///< JSON object text, as stored
};

/// Reads one user with lock and counts at `now`.
statement admin_user_by_id(const std::string& id, std::int64_t now);

/// The user admin_user_by_id() read; store_errc::not_found when none.
result<admin_user> decode_admin_user(const rowset& rs);

/// Reads up to `limit` users, newest first, created before the keyset
/// position (`before_time`, `before_id`), whose address contains `search`
/// (matched literally, ignoring case) or whose id is `search`; an empty
/// `search` matches every user.
statement admin_users_page(const std::string& search, std::int64_t now,
                           std::int64_t before_time,
                           const std::string& before_id, std::int64_t limit);

/// The users admin_users_page() read, in its order.
std::vector<admin_user> decode_admin_users(const rowset& rs);

/// Disables (or enables) a user; fails with "not_found".
unit set_disabled(const std::string& id, bool disabled, std::int64_t now);

/// The outcome of set_disabled(): store_errc::not_found for no such user.
result<done> decode_set_disabled(const unit_result& r);

/// Removes the user row (its sessions, credentials... go by cascade).
statement delete_user(const std::string& id);

// -- email sign-in --

/// Appends the sign-up of a flow's address and the read of its user: an
/// upsert that creates the account (`new_id`, `now`) unless it exists, then
/// the enabled user of `email`, or the unit fails with `fail_code`. Sign-up
/// happens when a flow for a new address completes, never when it starts.
/// @returns the index of the statement whose rows decode_user reads.
std::size_t append_sign_up(unit& u, const value& email,
                           const std::string& new_id, std::int64_t now,
                           const std::string& fail_code);

/// Reads the user with id `id` (disabled ones too).
statement by_id(const std::string& id);

/// Reads the user with the normalised address `email` (disabled ones too).
statement by_email(const std::string& email);

/// The user a by_id / by_email read found, if any.
std::optional<user_record> decode_found_user(const rowset& rs);

// -- metadata (account lifecycle) --

/// The two metadata documents of a user, as stored (JSON object text).
struct user_metadata_record {
  std::string user_metadata = "{}";
  std::string app_metadata = "{}";
};

/// Reads the metadata columns of user `user_id`.
statement metadata_of(const std::string& user_id);

/// The documents metadata_of() read; store_errc::not_found when no user.
result<user_metadata_record> decode_metadata(const rowset& rs);

// -- email change (account lifecycle) --

/// Moves account `user_id` from address `from` to `to` (values, so a unit
/// may bind them to a column of an earlier statement). Fails the unit with
/// `fail_code` unless exactly that enabled account had `from`, and also when
/// another account took `to` meanwhile (the unique key).
statement change_email(const value& user_id, const value& from,
                       const value& to, std::int64_t now,
                       const std::string& fail_code);

/// Puts address `from` back to `to` when `when` is not null (the change was
/// confirmed) and the account still has `from`; skipped, not failed, when
/// another account holds `to` now. Returns the id when it restored.
statement restore_email(const value& user_id, const value& from,
                        const value& to, const value& when, std::int64_t now);

/// read_active_or for an id bound to an earlier statement's column (an
/// empty `fail_code`: a plain read that may find nothing).
statement read_active_ref(const value& user_id, const std::string& fail_code);

// -- metadata (account lifecycle, writes) --

/// Which of the two documents a statement changes.
enum class metadata_column : std::uint8_t { user, app };

/// Reads an enabled account with both documents (the columns read_active
/// reads, plus user_metadata and app_metadata): decode_user and
/// decode_metadata both read its rows. Inside a unit it fails with
/// `fail_code` when the account is gone or disabled; an empty `fail_code`
/// makes it a plain read.
statement read_active_with_metadata(const std::string& user_id,
                                    const std::string& fail_code = {});

/// Reads any account (disabled ones too) with both documents, for the admin
/// API; fails its unit with `fail_code` when there is no such user.
statement read_with_metadata_or(const std::string& user_id,
                                const std::string& fail_code);

/// Merges the JSON object text `patch` into a document (RFC 7396 JSON Merge
/// Patch, SQLite's json_patch: a key set to null is removed, objects merge
/// recursively, anything else replaces). The caller checks that `patch` is
/// an object of bounded depth; the size of the result is checked by
/// metadata_fits in the same unit.
statement merge_metadata(const std::string& user_id, metadata_column column,
                         const std::string& patch, std::int64_t now);

/// Holds when the document of user `user_id` is at most `max_bytes` long
/// (UTF-8, as stored); fails the unit with `fail_code` otherwise. Runs
/// after merge_metadata, so an oversize result is never committed.
statement metadata_fits(const std::string& user_id, metadata_column column,
                        std::int64_t max_bytes, const std::string& fail_code);

/// Holds when no account other than `user_id` has the normalised address
/// `email`; fails the unit with `fail_code` otherwise.
statement email_free_for(const std::string& user_id, const std::string& email,
                         const std::string& fail_code);

/// Sets the (normalised) address of user `user_id`.
statement set_email(const std::string& user_id, const std::string& email,
                    std::int64_t now);
// -- claims (custom access-token claims, issue 17) --
// The session actor reads app_metadata with metadata_of() whenever it mints
// an access token (sign-in, refresh, re-authentication), so a change made
// here shows in the next token minted.

/// Replaces the app_metadata of user `user_id` with `json_object_text` (a
/// JSON object, checked by the caller) and stamps updated_at; fails the
/// unit with "not_found" when there is no such user. Also for the admin
/// route that sets app_metadata.
statement set_app_metadata(const std::string& user_id,
                           const std::string& json_object_text,
                           std::int64_t now);

// -- passkeys and TOTP --

// -- sessions --

/// Reads an enabled account (id, email, display_name, locale, created_at).
statement read_active(const std::string& user_id);
/// The same read inside a unit: fails it with `fail_code` when the account
/// is gone or disabled.
statement read_active_or(const std::string& user_id,
                         const std::string& fail_code);
/// The read a refresh adds to its unit (also the disabled column): fails it
/// with user_disabled.
statement read_for_refresh(const std::string& user_id);
/// Sets (or with nullopt clears) the display name.
statement set_display_name(const std::string& user_id,
                           const std::optional<std::string>& name,
                           std::int64_t now);
/// Sets (or with nullopt clears) the preferred locale.
statement set_locale(const std::string& user_id,
                     const std::optional<std::string>& locale,
                     std::int64_t now);
/// Removes the account row (its dependants go by foreign key).
statement remove(const std::string& user_id);
/// Stores account `u` as it is (tests and tools; sign-up is the email
/// flow's).
statement insert(const user_record& u, std::int64_t now);

} // namespace users_store

} // namespace authsvc::db
