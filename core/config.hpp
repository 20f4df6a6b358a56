#pragma once
// The service's configuration: plain structs with defaults, loaded from
// config.toml, then PA_* environment variables, then command-line overrides,
// and validated once at start. Every key is described in one table
// (core/config.cpp) so loading, validation, documentation and the redacted
// `check-config` output cannot drift apart.
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace authsvc::config {

/// A configuration problem; `key()` names the offending `section.key`.
class config_error : public std::runtime_error {
public:
  config_error(std::string key, const std::string& what)
      : std::runtime_error(key + ": " + what), key_(std::move(key)) {}
  const std::string& key() const noexcept { return key_; }

private:
  std::string key_;
};

struct server_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 3000;
  std::string public_url = "http://localhost:3000";
  std::vector<std::string> trusted_proxies;
  /// Which header trusted proxies maintain: "x-forwarded-for" or "forwarded".
  std::string forwarded_header = "x-forwarded-for";
  std::vector<std::string> cors_origins;
  std::size_t max_body_bytes = std::size_t{64} * 1024;
  std::size_t max_header_bytes = std::size_t{8} * 1024;
  std::size_t max_connections = 1024;
  /// Connections one client address (IPv6: its /64) may hold at once, so
  /// one client cannot take every slot; trusted proxies are exempt.
  /// 0 = no per-address cap.
  std::size_t max_connections_per_ip = 64;
  std::size_t pipeline_limit = 8;
  /// Requests in flight (handed to the actors, not answered yet) beyond
  /// which new ones are shed with 503 and Retry-After; probes (/liveness,
  /// /readiness, /health, /metrics) are never shed. 0 = no bound.
  std::size_t max_in_flight = 256;
  double header_timeout = 10;   ///< seconds to receive a complete header
  double body_timeout = 30;     ///< seconds to receive the body after it
  double shutdown_timeout = 10; ///< drain deadline on SIGTERM
  std::size_t io_threads = 1;
  std::size_t front_actors = 2;
  /// CAF scheduler threads; 0 = one per core beyond the I/O thread (at
  /// least one). On 2 cores one worker beats two: fewer wake-ups.
  std::size_t actor_threads = 0;
  std::string tls_cert; ///< PEM certificate chain; TLS when set
  std::string tls_key;  ///< PEM private key
  std::int64_t hsts_max_age = 31536000;
  std::vector<std::string> ip_allow;
  std::vector<std::string> ip_deny;
  bool ip_filter_exempt_ops = true;
  /// Seconds between re-reads of the ip_filters table (0 = only at start
  /// and on reload).
  std::int64_t ip_filter_refresh = 30;
};

struct database_config {
  std::string path = "./data/auth.db";
  std::string synchronous = "normal";
  std::int64_t busy_timeout_ms = 5000;
  /// PostgreSQL (issue 14): a libpq URI or key=value string. Empty = SQLite
  /// at `path`. A password in it only from the environment
  /// (PA_DATABASE_URL) or database.url_file, never the config file.
  std::string url;
};

struct mail_config {
  std::string transport; ///< "outbox" or "smtp"; empty = by smtp.host
  std::string outbox_dir = "./data/outbox";
  std::string from = "no-reply@localhost";
  std::string from_name = "Passwordless Auth";
  std::string templates_dir; ///< operator overrides; empty = embedded
  std::string default_locale = "en";
  std::int64_t retry_deadline = 86400;
  std::int64_t lease_timeout = 300;
  /// Jobs one claim leases at most (issue 14): one statement per batch
  /// instead of one per job. Claimed jobs wait for a free worker; one whose
  /// lease ran out meanwhile is handed back, not sent.
  std::int64_t claim_batch = 100;
  double poll_interval = 5;            ///< seconds between queue scans
  std::int64_t retry_first_delay = 30; ///< first retry; doubles up to retry_cap
  std::int64_t retry_cap = 3600;
  /// Days a finished job (sent or failed) is kept; the mailer purges older
  /// ones at start and hourly. Queued work is never purged.
  std::int64_t retention_days = 30;
  // -- delivery concurrency and the stuck-send watchdog (issue 15) --
  /// Sends in flight at once, each in its own worker thread, so that one
  /// relay connection that hangs does not hold up the rest of the queue.
  std::int64_t workers = 4;
  /// Messages an outbox worker writes with one file-system sync (issue 13):
  /// two syncs per batch instead of two per message. 1 = one at a time.
  /// SMTP sends stay one message per worker call.
  std::int64_t outbox_batch = 32;
  /// Seconds after which a send the transport has not ended is counted as
  /// stuck (log, metric, /health) and its worker replaced; its job stays
  /// leased and is retried once the transport ends it or the lease
  /// expires. 0 = derived: smtp.connect_timeout + smtp.timeout + 5 for
  /// SMTP, 60 for the outbox.
  double send_deadline = 0;
};

struct smtp_config {
  std::string host;
  std::uint16_t port = 587;
  std::string security = "starttls";
  std::string username;
  std::string password; ///< secret: environment or file only
  std::string ca_file;
  /// Trust exactly this relay key instead of a CA (a PEM/DER public key
  /// file or "sha256//<base64>"); for self-signed relays.
  std::string pinned_public_key;
  double connect_timeout = 10;
  double timeout = 30;
};

struct auth_config {
  bool allow_signup = true;
  std::vector<std::string> redirect_allow_list;
  std::int64_t email_flow_ttl = 600;
  std::int64_t email_min_interval = 60;
  std::int64_t email_hourly_cap = 5;
  std::int64_t code_max_attempts = 5;
  std::int64_t exchange_code_ttl = 60;
  std::string secret_key; ///< secret: HMAC pepper and encryption master
  std::int64_t lockout_threshold = 10;
  std::int64_t lockout_duration = 900;
  /// Factor changes (passkeys, TOTP, recovery codes, deleting the account)
  /// need a sign-in at most this many seconds old (the token's auth_time).
  std::int64_t reauth_max_age = 300;
  // -- custom claims and session policies (issue 17) --
  /// Custom access-token claims: claim name -> app_metadata path
  /// ("app_metadata.org.id"); reserved names are refused at start
  /// (auth/token_claims.hpp).
  std::map<std::string, std::string> access_token_claims;
  /// Seconds without a refresh after which a session ends (its refresh is
  /// refused and its access tokens stop verifying); 0 = off.
  std::int64_t session_idle_timeout = 0;
  /// Live sessions a user may hold; a new one beyond it revokes the oldest
  /// (with an audit event, a webhook and a mail). 0 = no limit.
  std::int64_t session_max_per_user = 0;
};

struct tokens_config {
  std::string issuer; ///< empty = server.public_url
  std::string audience = "passwordless-auth";
  std::int64_t access_ttl = 900;
  std::int64_t refresh_ttl = 2592000;
  std::int64_t refresh_absolute_ttl = 7776000;
  std::int64_t refresh_grace = 10;
  std::string algorithm = "ES256";
  std::int64_t key_reload_interval = 30; ///< pick up keys rotated by the CLI
};

struct webauthn_config {
  std::string rp_id; ///< empty = host of server.public_url
  std::string rp_name = "Passwordless Auth";
  std::vector<std::string> origins; ///< empty = server.public_url
  std::string user_verification = "preferred";
  std::string resident_key = "preferred";
  std::string attestation = "none";
  /// COSE algorithms offered and accepted, in order of preference.
  std::vector<std::string> algorithms{"EdDSA", "ES256", "RS256"};
  std::int64_t challenge_ttl = 300;
  std::int64_t max_passkeys = 10;
  bool reject_counter_regression = true;
  std::string trust_anchors_dir;
  /// Which verified attestations a registration must carry: "none"
  /// (anything that verifies), "allow-self" (self attestation or a chain to
  /// a trust anchor) or "require-trusted" (only a chain to a trust anchor).
  std::string attestation_policy = "none";
};

struct totp_config {
  std::string issuer = "Passwordless Auth";
};

struct rate_limit_config {
  bool enabled = true;
  /// Operations routes (/health, /liveness, /readiness, /metrics) skip every
  /// limit: probes and scrapers share an address and must never see 429.
  bool exempt_ops = true;
  std::int64_t max_keys = 100000;
  /// Overrides per route class, "limit/period_seconds" (e.g. "5/3600").
  std::map<std::string, std::string> policies;
  /// Seconds a request waits for the limiter's verdict (0 = none arrives in
  /// time: every request takes the on_timeout path).
  double timeout = 2;
  /// What a request without a verdict does (timeout, or limiter down):
  /// "open" (goes on), "closed" (503), or "closed_for_sign_in" (503 for the
  /// classes that guard sign-in secrets and mail, on for the rest).
  std::string on_timeout = "closed_for_sign_in";
  /// Where the per-IP limits live (issue 14): "memory" (each node counts
  /// its own clients) or "redis" (one budget per client for every node on
  /// redis_url; docs/scale-out.md, "Shared per-IP limits (Redis)").
  std::string backend = "memory";
  /// redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]; a URL with a password is
  /// read from the environment or redis_url_file only.
  std::string redis_url;
  /// Without an answer from Redis: true = this node's own per-IP limits
  /// decide (as backend "memory"), false = 503 service_unavailable.
  bool redis_fail_open = true;
  /// Seconds one Redis call (connect, send, reply) may take.
  double redis_timeout = 0.25;
  /// Connections to Redis per node (each its own actor and thread); one
  /// call waits one round trip, so more connections carry more calls.
  std::int64_t redis_connections = 2;
};

struct log_config {
  std::string level = "info";
  std::string format = "json";
};

struct metrics_config {
  std::string token; ///< secret: bearer token for /metrics
};

struct admin_config {
  std::string api_key; ///< secret: bootstrap admin key
  /// Test drills only (issue 15): POST /v1/admin/faults kills an owner or
  /// makes a handler throw. Off by default; when off the route is a 404.
  bool fault_injection = false;
};

struct audit_config {
  std::int64_t retention_days = 90;
  bool hash_emails = false;
  std::size_t queue_limit = 10000;
};

struct webhooks_config {
  bool allow_private_targets = false;
  std::int64_t retry_deadline = 86400;
  double timeout = 10;
  std::int64_t retry_first_delay = 30;
  std::int64_t retry_cap = 3600;
  double poll_interval = 5;
  /// Seconds a claimed delivery stays this process's (issue 14): a process
  /// killed mid-delivery leaves its lease to expire, then any node delivers
  /// it. An attempt starts only with at least `timeout` of the lease left.
  std::int64_t lease_timeout = 300;
  /// One endpoint from configuration (besides those of the admin API).
  std::string url;
  std::string secret; ///< secret: whsec_... from the environment or a file
  std::vector<std::string> event_types{"*"};
  /// Days a finished delivery (succeeded or failed) is kept; the webhook
  /// actor purges older ones at start and hourly. Pending ones stay.
  std::int64_t retention_days = 30;
};

struct caf_config {
  bool enabled = false;
  std::string host = "127.0.0.1";
  std::uint16_t port = 4242;
  std::string cert;
  std::string key;
  std::string ca;
  /// Calls per remote node, "N/SECONDS" (GCRA, burst N).
  std::string rate_limit = "1000/1";
  /// Plaintext CAF without authentication, allowed only on a loopback
  /// caf.host and only when this is set (its name is meant to stand out).
  bool insecure_plaintext = false;
  /// Client certificate names (subject CN or subjectAltName DNS/URI/email)
  /// admitted over mutual TLS; "*" admits any certificate from caf.ca.
  std::vector<std::string> allowed_clients;
  /// The largest message a client may send; a larger announced frame closes
  /// its connection before anything is allocated for it.
  std::uint32_t max_message_bytes = 1024 * 1024;
};

/// The whole effective configuration.
struct settings {
  server_config server;
  database_config database;
  mail_config mail;
  smtp_config smtp;
  auth_config auth;
  tokens_config tokens;
  webauthn_config webauthn;
  totp_config totp;
  rate_limit_config rate_limit;
  log_config log;
  metrics_config metrics;
  admin_config admin;
  audit_config audit;
  webhooks_config webhooks;
  caf_config caf;
  /// Keys whose values the operator set (for check-config), by source.
  std::map<std::string, std::string> sources;
  /// Warnings gathered while loading (e.g. a generated secret key).
  std::vector<std::string> warnings;
  /// The files secrets were read from (`x_file`, `PA_X_FILE`), by key.
  std::map<std::string, std::string> secret_files;
};

/// Where a loader reads its inputs; a seam so tests can pass their own.
struct sources {
  std::string config_path; ///< empty = no file
  /// PA_* variables, and CREDENTIALS_DIRECTORY: a secret is also read from
  /// a file there named like its variable (systemd's LoadCredential=).
  std::map<std::string, std::string> environment;
  std::vector<std::string> overrides; ///< "section.key=value"
};

/// Collects the PA_* variables (and CREDENTIALS_DIRECTORY) of the process
/// environment.
std::map<std::string, std::string> process_environment();

/// Loads, derives and validates the configuration.
/// @throws config_error naming the key on any bad value.
settings load(const sources& src);

/// The effective configuration as TOML with secrets redacted.
std::string to_redacted_toml(const settings& s);

/// Every known key as "section.key", for docs and tests.
std::vector<std::string> known_keys();

/// Parses "N/SECONDS" into (limit, period seconds).
/// @throws config_error(key) when malformed.
std::pair<std::int64_t, std::int64_t> parse_rate(const std::string& key,
                                                 const std::string& text);

/// True when a database.url (URI or key=value form) carries a password, which
/// is then accepted only from the environment or database.url_file.
bool database_url_has_password(const std::string& url);

} // namespace authsvc::config
