#pragma once
// The command line of passwordless-auth: options, sub-commands, and the
// offline commands that work on the database file directly (beside a running
// service: WAL). `serve` (src/main.cpp) is the default command.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/key_ring.hpp"
#include "db/executor.hpp"

namespace authsvc::cli {

/// Runs the service with a loaded configuration. @returns the exit code.
using serve_fn = int (*)(std::shared_ptr<const config::settings>);

/// Parses the command line and runs the chosen command. @returns the exit
/// code.
int run(int argc, char** argv, serve_fn serve);

/// Opens the service's database directly and applies the migrations: the
/// PostgreSQL database of database.url when it is set (issue 14), else the
/// SQLite file of database.path.
std::unique_ptr<db::executor> open_db(const config::settings& cfg);

/// `keys rotate`: creates the first signing key or a rotated one directly in
/// the database file. @returns the new kid.
std::string rotate_signing_key_offline(const config::settings& cfg,
                                       const key_ring& keys);

/// `admin create-key`: @returns {key id, key}; only the HMAC of the key is
/// stored.
std::pair<std::string, std::string>
create_admin_key(const config::settings& cfg, const std::string& name);

/// `oauth create-client` (issue 16): registers a client with `fields` (the
/// body POST /v1/admin/oauth/clients takes). @returns the client as JSON,
/// with a confidential client's secret (shown once).
/// @throws std::invalid_argument with the field problems as JSON.
nlohmann::json create_oauth_client_offline(const config::settings& cfg,
                                           const key_ring& keys,
                                           const nlohmann::json& fields);

/// `audit export`: audit events from `since` to `until` as JSON lines.
int export_audit(const config::settings& cfg, std::int64_t since,
                 std::int64_t until, std::ostream& out);

} // namespace authsvc::cli
