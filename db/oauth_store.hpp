#pragma once
// The OpenID Provider's tables (issue 16): oauth_clients, oauth_codes and
// oauth_consents. Plain functions that build db::statement values and decode
// their rows; the DB actor runs them. Secrets never reach this layer in
// clear: callers pass the hash of a client secret or of a code.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/value.hpp"

namespace authsvc::db::oauth_store {

/// A registered client as stored (its secret only as a hash).
struct client_row {
  std::string id;
  std::string name;
  std::string type;        ///< "confidential" or "public"
  std::string secret_hash; ///< empty for public clients
  std::vector<std::string> redirect_uris;
  std::vector<std::string> post_logout_redirect_uris;
  bool first_party = false;
  std::string id_token_alg = "RS256";
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  bool disabled = false;
};

/// An authorization code as stored.
struct code_row {
  std::string code_hash;
  std::string client_id;
  std::string user_id;
  std::string browser_session_id;
  std::string redirect_uri;
  std::string scope;
  std::string nonce;
  std::string code_challenge;
  std::int64_t auth_time = 0;
  std::vector<std::string> amr;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  /// Set by consume_code: the code had been used before (a replay).
  bool replayed = false;
  std::string issued_session_id;
};

// -- clients ------------------------------------------------------------------

/// Adds a client.
statement insert_client(const client_row& c);

/// Reads one client that is not deleted (disabled ones too).
statement get_client(const std::string& id);

/// The client of get_client(), or nullopt when there is none.
std::optional<client_row> decode_client(const rowset& rs);

/// Reads up to `limit` clients, newest first, created before the keyset
/// position (`before_time`, `before_id`).
statement clients_page(std::int64_t before_time, const std::string& before_id,
                       std::int64_t limit);
std::vector<client_row> decode_clients(const rowset& rs);

/// One row when any client was ever registered (deleted ones count: their
/// ID tokens may still be verified), none otherwise. The session actor makes
/// the RS256 ID-token key only then.
statement any_client();

/// Replaces the changeable fields of client `c.id` (name, redirect URIs,
/// first_party, id_token_alg, disabled) and reads it back; fails
/// "not_found" when it does not exist.
unit update_client(const client_row& c);

/// Marks a client deleted, ends its consents and unused codes; fails
/// "not_found" when it does not exist.
unit delete_client(const std::string& id, std::int64_t now);

// -- authorization codes ------------------------------------------------------

/// Stores a new code (`c.used_at` and `c.issued_session_id` ignored).
statement insert_code(const code_row& c);

/// Counts a use of code `code_hash` (first use at `now`) and reads it, in
/// one statement, so two exchanges of one code can never both see it
/// unused (`replayed` tells). No row: an unknown code. Callers check
/// expiry, client, redirect URI and verifier.
statement consume_code(const std::string& code_hash, std::int64_t now);

/// The code of consume_code(), or nullopt for an unknown one.
std::optional<code_row> decode_code(const rowset& rs);

/// Records the session the exchange of `code_hash` opened.
statement set_issued_session(const std::string& code_hash,
                             const std::string& session_id);

/// Removes codes that expired more than a day before `now`.
statement purge_codes(std::int64_t now);

// -- consents -----------------------------------------------------------------

/// Reads the scope `user_id` allowed `client_id` (no row: none).
statement get_consent(const std::string& user_id, const std::string& client_id);

/// The consented scope of get_consent() (space-separated), or nullopt.
std::optional<std::string> decode_consent(const rowset& rs);

/// Records (or widens to) `scope` for `user_id` and `client_id`.
statement save_consent(const std::string& user_id, const std::string& client_id,
                       const std::string& scope, std::int64_t now);

} // namespace authsvc::db::oauth_store
