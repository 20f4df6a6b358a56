#include "core/config.hpp"
#include "auth/text.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "auth/cidr.hpp"
#include "auth/ip_address.hpp"
#include "auth/rate_limiter.hpp"
#include "auth/redis_url.hpp"
#include "auth/token_claims.hpp"
#include "auth/url.hpp"

extern char** environ;

namespace authsvc::config {

namespace {

// -- value parsing ------------------------------------------------------------

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = std::string(auth::trim_space(item));
    if (!item.empty())
      out.push_back(item);
  }
  return out;
}

std::string join_list(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs) {
    if (!out.empty())
      out += ',';
    out += x;
  }
  return out;
}

/// "name=value,name=value" (the environment form of a TOML table) as
/// trimmed pairs; `what` describes one item for the error message.
std::vector<std::pair<std::string, std::string>>
split_pairs(const std::string& key, const std::string& text, const char* what) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : split_list(text)) {
    auto eq = item.find('=');
    if (eq == std::string::npos)
      throw config_error(key, std::string("expected ") + what + ", got '" + item
                                  + "'");
    out.emplace_back(std::string(auth::trim_space(item.substr(0, eq))),
                     std::string(auth::trim_space(item.substr(eq + 1))));
  }
  return out;
}

std::string join_pairs(const std::map<std::string, std::string>& m) {
  std::string out;
  for (const auto& [k, v] : m)
    out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

bool parse_bool(const std::string& key, const std::string& v) {
  std::string s = v;
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  if (s == "true" || s == "1" || s == "yes" || s == "on")
    return true;
  if (s == "false" || s == "0" || s == "no" || s == "off")
    return false;
  throw config_error(key, "expected true or false, got '" + v + "'");
}

std::int64_t parse_int(const std::string& key, const std::string& v,
                       std::int64_t lo, std::int64_t hi) {
  std::size_t pos = 0;
  long long x = 0;
  try {
    x = std::stoll(v, &pos);
  } catch (...) {
    pos = 0;
  }
  if (pos == 0 || pos != v.size())
    throw config_error(key, "expected an integer, got '" + v + "'");
  if (x < lo || x > hi)
    throw config_error(key, "must be between " + std::to_string(lo) + " and "
                                + std::to_string(hi) + ", got " + v);
  return x;
}

double parse_seconds(const std::string& key, const std::string& v, double lo,
                     double hi) {
  std::size_t pos = 0;
  double x = 0;
  try {
    x = std::stod(v, &pos);
  } catch (...) {
    pos = 0;
  }
  if (pos == 0 || pos != v.size())
    throw config_error(key, "expected a number of seconds, got '" + v + "'");
  if (!(x >= lo && x <= hi))
    throw config_error(key, "must be between " + std::to_string(lo) + " and "
                                + std::to_string(hi) + " seconds");
  return x;
}

std::string one_of(const std::string& key, const std::string& v,
                   std::initializer_list<const char*> allowed) {
  for (auto a : allowed)
    if (v == a)
      return v;
  std::string list;
  for (auto a : allowed)
    list += std::string(list.empty() ? "" : ", ") + a;
  throw config_error(key, "must be one of " + list + ", got '" + v + "'");
}

std::string fmt_double(double d) {
  std::ostringstream out;
  out << d;
  return out.str();
}

// -- the key table ------------------------------------------------------------

enum class kind { string, integer, seconds, boolean, list, map };

struct entry {
  const char* section;
  const char* key;
  kind type;
  bool secret;
  std::function<void(settings&, const std::string& full_key,
                     const std::string&)>
      set;
  std::function<std::string(const settings&)> get;
};

#define STR(sec, k, field, secret)                                             \
  entry {                                                                      \
#sec, #k, kind::string, secret,                                            \
        [](settings & s, const std::string&,                                   \
           const std::string&                                                  \
               v) { s.sec.field = v; }, [](const settings&                     \
                                               s) { return s.sec.field; }      \
  }
#define CHOICE(sec, k, field, ...)                                             \
  entry {                                                                      \
#sec, #k, kind::string, false,                                             \
      [](settings& s, const std::string& key, const std::string& v) {          \
        s.sec.field = one_of(key, v, {__VA_ARGS__});                           \
      },                                                                       \
      [](const settings& s) { return s.sec.field; }   \
  }
#define INT(sec, k, field, lo, hi)                                             \
  entry {                                                                      \
#sec, #k, kind::integer, false,                                            \
      [](settings& s, const std::string& key, const std::string& v) {          \
        s.sec.field = static_cast<decltype(s.sec.field)>(                      \
          parse_int(key, v, lo, hi));                                          \
      },                                                                       \
      [](const settings& s) { return std::to_string(s.sec.field); }   \
  }
#define SECS(sec, k, field, lo, hi)                                            \
  entry {                                                                      \
#sec, #k, kind::seconds, false,                                            \
      [](settings& s, const std::string& key, const std::string& v) {          \
        s.sec.field = parse_seconds(key, v, lo, hi);                           \
      },                                                                       \
      [](const settings& s) { return fmt_double(s.sec.field); }   \
  }
#define BOOL(sec, k, field)                                                    \
  entry {                                                                      \
#sec, #k, kind::boolean, false,                                            \
      [](settings& s, const std::string& key, const std::string& v) {          \
        s.sec.field = parse_bool(key, v);                                      \
      },                                                                       \
      [](const settings& s) {                                                  \
        return std::string(s.sec.field ? "true" : "false");                    \
      }   \
  }
#define LIST(sec, k, field)                                                    \
  entry {                                                                      \
#sec, #k, kind::list, false,                                               \
      [](settings& s, const std::string&, const std::string& v) {              \
        s.sec.field = split_list(v);                                           \
      },                                                                       \
      [](const settings& s) { return join_list(s.sec.field); }   \
  }

constexpr std::int64_t day = 86400;

const std::vector<entry>& table() {
  static const std::vector<entry> t = {
      STR(server, host, host, false),
      INT(server, port, port, 0, 65535),
      STR(server, public_url, public_url, false),
      LIST(server, trusted_proxies, trusted_proxies),
      CHOICE(server, forwarded_header, forwarded_header, "x-forwarded-for",
             "forwarded"),
      LIST(server, cors_origins, cors_origins),
      INT(server, max_body_bytes, max_body_bytes, 1024, 64 << 20),
      INT(server, max_header_bytes, max_header_bytes, 1024, 1 << 20),
      INT(server, max_connections, max_connections, 1, 1 << 20),
      INT(server, max_connections_per_ip, max_connections_per_ip, 0, 1 << 20),
      INT(server, pipeline_limit, pipeline_limit, 1, 64),
      INT(server, max_in_flight, max_in_flight, 0, 1 << 20),
      SECS(server, header_timeout, header_timeout, 0.05, 3600),
      SECS(server, body_timeout, body_timeout, 0.05, 3600),
      SECS(server, shutdown_timeout, shutdown_timeout, 0, 3600),
      INT(server, io_threads, io_threads, 1, 64),
      INT(server, front_actors, front_actors, 1, 64),
      INT(server, actor_threads, actor_threads, 0, 256),
      STR(server, tls_cert, tls_cert, false),
      STR(server, tls_key, tls_key, false),
      INT(server, hsts_max_age, hsts_max_age, 0, 10 * 365 * day),
      LIST(server, ip_allow, ip_allow),
      LIST(server, ip_deny, ip_deny),
      BOOL(server, ip_filter_exempt_ops, ip_filter_exempt_ops),
      INT(server, ip_filter_refresh, ip_filter_refresh, 0, day),
      STR(database, path, path, false),
      CHOICE(database, synchronous, synchronous, "off", "normal", "full"),
      INT(database, busy_timeout_ms, busy_timeout_ms, 0, 600000),
      STR(database, url, url, true),
      CHOICE(mail, transport, transport, "", "outbox", "smtp"),
      STR(mail, outbox_dir, outbox_dir, false),
      STR(mail, from, from, false),
      STR(mail, from_name, from_name, false),
      STR(mail, templates_dir, templates_dir, false),
      STR(mail, default_locale, default_locale, false),
      INT(mail, retry_deadline, retry_deadline, 60, 30 * day),
      INT(mail, lease_timeout, lease_timeout, 1, day),
      INT(mail, claim_batch, claim_batch, 1, 1000),
      SECS(mail, poll_interval, poll_interval, 0.05, 3600),
      INT(mail, retry_first_delay, retry_first_delay, 1, day),
      INT(mail, retry_cap, retry_cap, 1, day),
      INT(mail, retention_days, retention_days, 1, 36500),
      INT(mail, workers, workers, 1, 64),
      INT(mail, outbox_batch, outbox_batch, 1, 256),
      SECS(mail, send_deadline, send_deadline, 0, 3600),
      STR(smtp, host, host, false),
      INT(smtp, port, port, 1, 65535),
      CHOICE(smtp, security, security, "starttls", "tls", "none"),
      STR(smtp, username, username, false),
      STR(smtp, password, password, true),
      STR(smtp, ca_file, ca_file, false),
      STR(smtp, pinned_public_key, pinned_public_key, false),
      SECS(smtp, connect_timeout, connect_timeout, 0.1, 600),
      SECS(smtp, timeout, timeout, 0.1, 3600),
      BOOL(auth, allow_signup, allow_signup),
      LIST(auth, redirect_allow_list, redirect_allow_list),
      INT(auth, email_flow_ttl, email_flow_ttl, 60, day),
      INT(auth, email_min_interval, email_min_interval, 0, day),
      INT(auth, email_hourly_cap, email_hourly_cap, 0, 1000000),
      INT(auth, code_max_attempts, code_max_attempts, 1, 100),
      INT(auth, exchange_code_ttl, exchange_code_ttl, 5, 3600),
      STR(auth, secret_key, secret_key, true),
      INT(auth, lockout_threshold, lockout_threshold, 1, 1000),
      INT(auth, lockout_duration, lockout_duration, 1, 30 * day),
      INT(auth, reauth_max_age, reauth_max_age, 0, 30 * day),
      // -- custom claims and session policies (issue 17) --
      entry{"auth", "access_token_claims", kind::map, false,
            [](settings& s, const std::string& key, const std::string& v) {
              // "claim=app_metadata.path,..." (the TOML form is a table).
              s.auth.access_token_claims.clear();
              for (auto& [name, path] :
                   split_pairs(key, v, "claim=app_metadata.path"))
                s.auth.access_token_claims[name] = path;
            },
            [](const settings& s) {
              return join_pairs(s.auth.access_token_claims);
            }},
      INT(auth, session_idle_timeout, session_idle_timeout, 0, 365 * day),
      INT(auth, session_max_per_user, session_max_per_user, 0, 10000),
      STR(tokens, issuer, issuer, false),
      STR(tokens, audience, audience, false),
      INT(tokens, access_ttl, access_ttl, 30, day),
      INT(tokens, refresh_ttl, refresh_ttl, 60, 365 * day),
      INT(tokens, refresh_absolute_ttl, refresh_absolute_ttl, 60, 3650 * day),
      INT(tokens, refresh_grace, refresh_grace, 0, 300),
      CHOICE(tokens, algorithm, algorithm, "ES256", "RS256", "EdDSA"),
      INT(tokens, key_reload_interval, key_reload_interval, 1, 3600),
      STR(webauthn, rp_id, rp_id, false),
      STR(webauthn, rp_name, rp_name, false),
      LIST(webauthn, origins, origins),
      CHOICE(webauthn, user_verification, user_verification, "required",
             "preferred", "discouraged"),
      CHOICE(webauthn, resident_key, resident_key, "required", "preferred",
             "discouraged"),
      CHOICE(webauthn, attestation, attestation, "none", "indirect", "direct",
             "enterprise"),
      LIST(webauthn, algorithms, algorithms),
      INT(webauthn, challenge_ttl, challenge_ttl, 10, 3600),
      INT(webauthn, max_passkeys, max_passkeys, 1, 1000),
      BOOL(webauthn, reject_counter_regression, reject_counter_regression),
      STR(webauthn, trust_anchors_dir, trust_anchors_dir, false),
      CHOICE(webauthn, attestation_policy, attestation_policy, "none",
             "allow-self", "require-trusted"),
      STR(totp, issuer, issuer, false),
      BOOL(rate_limit, enabled, enabled),
      BOOL(rate_limit, exempt_ops, exempt_ops),
      INT(rate_limit, max_keys, max_keys, 100, 100000000),
      SECS(rate_limit, timeout, timeout, 0, 60),
      CHOICE(rate_limit, on_timeout, on_timeout, "open", "closed",
             "closed_for_sign_in"),
      CHOICE(rate_limit, backend, backend, "memory", "redis"),
      STR(rate_limit, redis_url, redis_url, true),
      BOOL(rate_limit, redis_fail_open, redis_fail_open),
      SECS(rate_limit, redis_timeout, redis_timeout, 0.001, 10),
      INT(rate_limit, redis_connections, redis_connections, 1, 16),
      entry{
          "rate_limit", "policies", kind::map, false,
          [](settings& s, const std::string& key, const std::string& v) {
            // "class=N/P,class=N/P" (the TOML form is a table).
            for (const auto& [cls, rate] :
                 split_pairs(key, v, "class=N/SECONDS")) {
              parse_rate(key + "." + cls, rate);
              if (!auth::parse_limit_class(cls))
                throw config_error(key + "." + cls, "unknown rate limit class");
              s.rate_limit.policies[cls] = rate;
            }
          },
          [](const settings& s) { return join_pairs(s.rate_limit.policies); }},
      CHOICE(log, level, level, "trace", "debug", "info", "warn", "error",
             "critical", "off"),
      CHOICE(log, format, format, "json", "text"),
      STR(metrics, token, token, true),
      STR(admin, api_key, api_key, true),
      BOOL(admin, fault_injection, fault_injection),
      INT(audit, retention_days, retention_days, 1, 36500),
      BOOL(audit, hash_emails, hash_emails),
      INT(audit, queue_limit, queue_limit, 100, 10000000),
      BOOL(webhooks, allow_private_targets, allow_private_targets),
      INT(webhooks, retry_deadline, retry_deadline, 60, 30 * day),
      SECS(webhooks, timeout, timeout, 0.1, 120),
      INT(webhooks, retry_first_delay, retry_first_delay, 1, day),
      INT(webhooks, retry_cap, retry_cap, 1, day),
      SECS(webhooks, poll_interval, poll_interval, 0.05, 3600),
      INT(webhooks, lease_timeout, lease_timeout, 1, day),
      STR(webhooks, url, url, false),
      STR(webhooks, secret, secret, true),
      LIST(webhooks, event_types, event_types),
      INT(webhooks, retention_days, retention_days, 1, 36500),
      BOOL(caf, enabled, enabled),
      STR(caf, host, host, false),
      INT(caf, port, port, 0, 65535),
      STR(caf, cert, cert, false),
      STR(caf, key, key, false),
      STR(caf, ca, ca, false),
      entry{"caf", "rate_limit", kind::string, false,
            [](settings& s, const std::string& key, const std::string& v) {
              parse_rate(key, v);
              s.caf.rate_limit = v;
            },
            [](const settings& s) { return s.caf.rate_limit; }},
      BOOL(caf, insecure_plaintext, insecure_plaintext),
      LIST(caf, allowed_clients, allowed_clients),
      INT(caf, max_message_bytes, max_message_bytes, 1024, 256 * 1024 * 1024),
  };
  return t;
}

#undef STR
#undef CHOICE
#undef INT
#undef SECS
#undef BOOL
#undef LIST

/// A TOML basic string (JSON's escaping is valid TOML).
std::string quote(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false,
                                nlohmann::json::error_handler_t::replace);
}

/// A TOML key: bare when it can be, quoted otherwise (a claim name may be
/// a URI).
std::string toml_key(const std::string& k) {
  bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? k : quote(k);
}

std::string full_name(const entry& e) {
  return std::string(e.section) + "." + e.key;
}

std::string env_name(const entry& e) {
  std::string out = "PA_" + std::string(e.section) + "_" + e.key;
  std::transform(out.begin(), out.end(), out.begin(), ::toupper);
  return out;
}

const entry* find_entry(const std::string& section, const std::string& key) {
  for (const auto& e : table())
    if (section == e.section && key == e.key)
      return &e;
  return nullptr;
}

} // namespace

bool database_url_has_password(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme != std::string::npos) {
    // postgresql://user:password@host/db?password=...
    auto rest = url.substr(scheme + 3);
    auto at = rest.find('@');
    auto slash = rest.find('/');
    if (at != std::string::npos && (slash == std::string::npos || at < slash)
        && rest.substr(0, at).find(':') != std::string::npos)
      return true;
    auto q = rest.find('?');
    if (q == std::string::npos)
      return false;
    auto query = "&" + rest.substr(q + 1);
    return query.find("&password=") != std::string::npos;
  }
  // key=value form: "host=db user=auth password=..."
  std::string padded = " " + url;
  for (std::size_t i = 0; i + 1 < padded.size(); ++i)
    if ((padded[i] == ' ' || padded[i] == '\t')
        && padded.compare(i + 1, 8, "password") == 0) {
      auto j = i + 9;
      while (j < padded.size() && padded[j] == ' ')
        ++j;
      if (j < padded.size() && padded[j] == '=')
        return true;
    }
  return false;
}

namespace {

/// Secrets, keys and connection URLs are short; a larger file is a
/// mistake (a log, a disk image), not something to read into memory.
constexpr std::uintmax_t max_secret_file_bytes = 64 * 1024;

std::string read_secret_file(const std::string& key, const std::string& path) {
  // A directory opens as a stream here, and reading it throws
  // std::ios_base::failure, which escaped config::load as a crash instead
  // of the exit 2 every bad setting gets (fuzz finding, tests/fuzz
  // config_toml: `metrics.token_file = "auth"`, a folder of the checkout).
  // Symbolic links to regular files (systemd credentials, Kubernetes
  // secrets) are followed.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw config_error(key, "secret file '" + path
                                + "' is missing or not a regular file");
  auto size = std::filesystem::file_size(path, ec);
  if (ec || size > max_secret_file_bytes)
    throw config_error(key, "secret file '" + path
                                + "' is larger than 64 KiB or unreadable");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error(key, "cannot read secret file '" + path + "'");
  std::string data;
  try {
    data.assign(std::istreambuf_iterator<char>(in),
                std::istreambuf_iterator<char>());
  } catch (const std::exception&) {
    throw config_error(key, "cannot read secret file '" + path + "'");
  }
  // A trailing newline from `echo secret > file` is not part of the secret.
  while (!data.empty() && (data.back() == '\n' || data.back() == '\r'))
    data.pop_back();
  return data;
}

std::string toml_to_text(const std::string& key, const toml::node& node) {
  if (auto s = node.as_string())
    return s->get();
  if (auto i = node.as_integer())
    return std::to_string(i->get());
  if (auto f = node.as_floating_point())
    return fmt_double(f->get());
  if (auto b = node.as_boolean())
    return b->get() ? "true" : "false";
  if (auto arr = node.as_array()) {
    std::vector<std::string> items;
    for (const auto& el : *arr) {
      if (el.is_array() || el.is_table())
        throw config_error(key, "nested lists are not allowed");
      auto text = toml_to_text(key, el);
      if (text.find(',') != std::string::npos)
        throw config_error(key, "list items cannot contain ','");
      items.push_back(text);
    }
    return join_list(items);
  }
  throw config_error(key, "unsupported value type");
}

void apply(settings& s, const entry& e, const std::string& value,
           const std::string& source) {
  auto name = full_name(e);
  e.set(s, name, value);
  s.sources[name] = source;
}

void load_toml(settings& s, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    std::ostringstream msg;
    msg << err.description() << " at line " << err.source().begin.line;
    throw config_error("config", "cannot parse '" + path + "': " + msg.str());
  }
  for (const auto& [section_key, section_node] : root) {
    std::string section(section_key.str());
    auto tbl = section_node.as_table();
    if (!tbl)
      throw config_error(section, "expected a [section] table");
    for (const auto& [k, node] : *tbl) {
      std::string key(k.str());
      std::string name = section + "." + key;
      // A table value is only allowed for the map keys (the rate-limit
      // policies, the custom claims).
      if (auto me = find_entry(section, key); me && me->type == kind::map) {
        auto pt = node.as_table();
        if (!pt)
          throw config_error(name, "expected a table of name = \"value\"");
        std::string joined;
        for (const auto& [item, v] : *pt)
          joined += (joined.empty() ? "" : ",") + std::string(item.str()) + "="
                    + toml_to_text(name, v);
        apply(s, *me, joined, "file");
        continue;
      }
      // `<secret>_file` names a file that holds the secret.
      if (key.size() > 5 && key.compare(key.size() - 5, 5, "_file") == 0) {
        auto base = key.substr(0, key.size() - 5);
        auto e = find_entry(section, base);
        if (e && e->secret) {
          auto file = toml_to_text(name, node);
          apply(s, *e, read_secret_file(name, file), "file (secret file)");
          s.secret_files[full_name(*e)] = file;
          continue;
        }
      }
      auto e = find_entry(section, key);
      if (!e)
        throw config_error(name, "unknown configuration key");
      // database.url may sit in the file as long as it holds no password
      // (the password then comes from PGPASSWORD or ~/.pgpass).
      if (e->secret
          && (name == "database.url" || name == "rate_limit.redis_url")
          && !database_url_has_password(toml_to_text(name, node))) {
        apply(s, *e, toml_to_text(name, node), "file");
        continue;
      }
      if (e->secret)
        throw config_error(name,
                           "secrets are not read from the config file; set "
                               + env_name(*e) + " or " + key + "_file");
      apply(s, *e, toml_to_text(name, node), "file");
    }
  }
}

std::string host_of(const std::string& url) {
  auto pos = url.find("://");
  if (pos == std::string::npos)
    return {};
  auto rest = url.substr(pos + 3);
  auto end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, end);
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    return authority.substr(1, close == std::string::npos ? std::string::npos
                                                          : close - 1);
  }
  return authority.substr(0, authority.find(':'));
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost")
    return true;
  auto ip = auth::ip_address::parse(host);
  return ip && auth::classify_address(*ip) == auth::address_scope::loopback;
}

std::string origin_of(const std::string& url) {
  auto pos = url.find("://");
  if (pos == std::string::npos)
    return url;
  auto end = url.find_first_of("/?#", pos + 3);
  return url.substr(0, end);
}

/// True when two files' folders are the same (after resolving `.`, `..`
/// and symbolic links as far as the paths exist).
bool same_directory(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  auto dir = [](const std::string& p) {
    std::error_code ec;
    auto abs = fs::weakly_canonical(fs::absolute(p, ec), ec);
    return (ec ? fs::path(p) : abs).parent_path();
  };
  return dir(a) == dir(b);
}

void derive_and_validate(settings& s) {
  // CAF's TLS is all or nothing: with any of the three it demands a peer
  // certificate, so a server needs its own pair and the CA to check clients.
  if (!s.caf.cert.empty() || !s.caf.key.empty() || !s.caf.ca.empty()) {
    if (s.caf.cert.empty())
      throw config_error("caf.cert", "required when caf.key or caf.ca is set");
    if (s.caf.key.empty())
      throw config_error("caf.key", "required when caf.cert or caf.ca is set");
    if (s.caf.ca.empty())
      throw config_error("caf.ca",
                         "required when caf.cert is set (mutual TLS)");
  }
  if (s.caf.enabled) {
    bool tls = !s.caf.cert.empty();
    if (!tls && !s.caf.insecure_plaintext)
      throw config_error(
          "caf.insecure_plaintext",
          "the CAF endpoint needs mutual TLS (set caf.cert, caf.key and "
          "caf.ca); unauthenticated plaintext only with "
          "caf.insecure_plaintext = true on a loopback caf.host");
    if (tls && s.caf.insecure_plaintext)
      throw config_error("caf.insecure_plaintext",
                         "cannot be set together with caf.cert (mutual TLS)");
    if (!tls && !is_loopback_host(s.caf.host))
      throw config_error("caf.host",
                         "plaintext CAF (caf.insecure_plaintext) is only "
                         "allowed on a loopback address, not "
                             + s.caf.host);
    if (tls && s.caf.allowed_clients.empty())
      throw config_error("caf.allowed_clients",
                         "list the client certificate names (subject CN or "
                         "subjectAltName) allowed to call, or \"*\" for any "
                         "certificate signed by caf.ca");
  }
  auto& url = s.server.public_url;
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    throw config_error("server.public_url",
                       "must start with http:// or https://");
  if (host_of(url).empty())
    throw config_error("server.public_url", "has no host");
  if (s.tokens.issuer.empty())
    s.tokens.issuer = url;
  if (s.webauthn.rp_id.empty())
    s.webauthn.rp_id = host_of(url);
  if (s.webauthn.origins.empty())
    s.webauthn.origins = {origin_of(url)};
  if (s.mail.transport.empty())
    s.mail.transport = s.smtp.host.empty() ? "outbox" : "smtp";
  if (s.mail.transport == "smtp" && s.smtp.host.empty())
    throw config_error("smtp.host", "required when mail.transport = smtp");
  // Plain-text SMTP would put sign-in links on the wire: only towards a relay
  // on this machine (a local MTA, or a test sink).
  if (s.mail.transport == "smtp" && s.smtp.security == "none"
      && !(s.smtp.host == "localhost" || s.smtp.host == "::1"
           || s.smtp.host.rfind("127.", 0) == 0))
    throw config_error("smtp.security",
                       "'none' is only allowed for a relay on loopback "
                       "(localhost, 127.0.0.0/8, ::1); use starttls or tls");
  if (s.tokens.refresh_absolute_ttl < s.tokens.refresh_ttl)
    throw config_error("tokens.refresh_absolute_ttl",
                       "must not be shorter than tokens.refresh_ttl");
  if (s.server.tls_cert.empty() != s.server.tls_key.empty())
    throw config_error(s.server.tls_cert.empty() ? "server.tls_cert"
                                                 : "server.tls_key",
                       "tls_cert and tls_key must be set together");
  for (const auto& o : s.server.cors_origins)
    if (o != "*" && o.rfind("http://", 0) != 0 && o.rfind("https://", 0) != 0)
      throw config_error("server.cors_origins",
                         "'" + o + "' is not an origin (scheme://host[:port])");
  for (const auto& o : s.webauthn.origins)
    if (o.rfind("http://", 0) != 0 && o.rfind("https://", 0) != 0)
      throw config_error("webauthn.origins", "'" + o + "' is not an origin");
  if (s.webauthn.algorithms.empty())
    throw config_error("webauthn.algorithms",
                       "must name at least one algorithm");
  for (const auto& a : s.webauthn.algorithms)
    if (std::string_view known
        = " EdDSA ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 ";
        a.empty() || known.find(" " + a + " ") == std::string_view::npos)
      throw config_error("webauthn.algorithms",
                         "'" + a
                             + "' is not one of EdDSA, ES256, ES384, ES512, "
                               "PS256, PS384, PS512, RS256, RS384, RS512");
  // Trusted chains need the attestation asked for (with "none" browsers
  // strip it) and anchors to chain to; otherwise no passkey could register.
  if (s.webauthn.attestation_policy == "require-trusted") {
    if (s.webauthn.attestation == "none")
      throw config_error("webauthn.attestation_policy",
                         "'require-trusted' needs webauthn.attestation = "
                         "direct, indirect or enterprise");
    if (s.webauthn.trust_anchors_dir.empty())
      throw config_error("webauthn.trust_anchors_dir",
                         "required by webauthn.attestation_policy = "
                         "'require-trusted'");
  }
  if (s.mail.from.find('@') == std::string::npos
      || s.mail.from.find_first_of("\r\n<>") != std::string::npos)
    throw config_error("mail.from", "must be a plain address like a@b.c");
  for (auto [name, list] :
       {std::pair{"server.trusted_proxies", &s.server.trusted_proxies},
        std::pair{"server.ip_allow", &s.server.ip_allow},
        std::pair{"server.ip_deny", &s.server.ip_deny}}) {
    std::string bad;
    if (!auth::parse_cidr_list(*list, &bad))
      throw config_error(name,
                         "'" + bad + "' is not an IP address or CIDR block");
  }
  for (const auto& prefix : s.auth.redirect_allow_list)
    if (!auth::parse_url(prefix))
      throw config_error("auth.redirect_allow_list",
                         "'" + prefix + "' is not an absolute http(s) URL");
  if (s.database.path.empty())
    throw config_error("database.path", "must not be empty");
  // -- PostgreSQL (issue 14) --
  if (!s.database.url.empty()) {
    const auto& u = s.database.url;
    bool uri
        = u.rfind("postgresql://", 0) == 0 || u.rfind("postgres://", 0) == 0;
    bool keywords = u.find("://") == std::string::npos
                    && u.find('=') != std::string::npos;
    if (!uri && !keywords)
      throw config_error(
          "database.url",
          "expected a PostgreSQL URI (postgresql://user@host/db) "
          "or libpq key=value pairs");
    if (u.find_first_of("\r\n") != std::string::npos)
      throw config_error("database.url", "must be one line");
  }
  // -- work claims (issue 14) --
  if (static_cast<double>(s.webhooks.lease_timeout) <= s.webhooks.timeout + 1)
    throw config_error("webhooks.lease_timeout",
                       "must exceed webhooks.timeout + 1 s: an attempt "
                       "starts only with that much of its lease left");
  // -- shared per-IP limits (issue 14) --
  if (s.rate_limit.backend == "redis") {
    std::string problem;
    if (s.rate_limit.redis_url.empty())
      throw config_error("rate_limit.redis_url",
                         "required when rate_limit.backend = 'redis'");
    if (!auth::parse_redis_url(s.rate_limit.redis_url, &problem))
      throw config_error("rate_limit.redis_url", problem);
  }
  // -- fault injection (issue 15) --
  if (s.admin.fault_injection)
    s.warnings.push_back(
        "admin.fault_injection is on: POST /v1/admin/faults lets an admin key "
        "kill actors and make handlers throw (test drills only; never in "
        "production)");
  // -- custom claims (issue 17) --
  for (const auto& [claim, path] : s.auth.access_token_claims)
    if (auto problem = auth::check_claim_mapping(claim, path))
      throw config_error("auth.access_token_claims." + claim, *problem);
  if (s.auth.secret_key.empty()) {
    s.warnings.push_back(
        "auth.secret_key is not set (PA_AUTH_SECRET_KEY): a key is generated "
        "into secret.key, in the same directory as the database it protects "
        "(a copy of that directory opens every sealed secret); set one for "
        "production, kept elsewhere");
  } else if (s.auth.secret_key.size() < 32) {
    throw config_error("auth.secret_key", "must be at least 32 characters");
  } else if (auto it = s.secret_files.find("auth.secret_key");
             it != s.secret_files.end()
             && same_directory(it->second, s.database.path)) {
    s.warnings.push_back(
        "auth.secret_key is read from '" + it->second
        + "', in the same directory as the database (" + s.database.path
        + "): a copy or backup of that directory opens every sealed secret; "
          "keep the key elsewhere in production");
  }
}

} // namespace

std::pair<std::int64_t, std::int64_t> parse_rate(const std::string& key,
                                                 const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos)
    throw config_error(key, "expected N/SECONDS, got '" + text + "'");
  auto n = parse_int(key, std::string(auth::trim_space(text.substr(0, slash))),
                     1, 100000000);
  auto p = parse_int(key, std::string(auth::trim_space(text.substr(slash + 1))),
                     1, 365 * day);
  return {n, p};
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    if (kv.rfind("PA_", 0) != 0 && kv.rfind("CREDENTIALS_DIRECTORY=", 0) != 0)
      continue;
    auto eq = kv.find('=');
    if (eq != std::string::npos)
      out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

settings load(const sources& src) {
  settings s;
  if (!src.config_path.empty())
    load_toml(s, src.config_path);
  // systemd's LoadCredential= (or a mounted Kubernetes Secret) hands secrets
  // over as files in $CREDENTIALS_DIRECTORY, named like their variables.
  std::string credentials;
  if (auto it = src.environment.find("CREDENTIALS_DIRECTORY");
      it != src.environment.end())
    credentials = it->second;
  for (const auto& e : table()) {
    auto name = env_name(e);
    if (auto it = src.environment.find(name); it != src.environment.end())
      apply(s, e, it->second, "env " + name);
    if (e.secret) {
      // Above the plain variable (set on purpose for this service), below
      // an explicit PA_X_FILE.
      std::error_code ec;
      auto path = std::filesystem::path(credentials) / name;
      if (!credentials.empty() && std::filesystem::is_regular_file(path, ec))
        apply(s, e, read_secret_file(full_name(e), path.string()),
              "credential " + name);
      if (auto it = src.environment.find(name + "_FILE");
          it != src.environment.end()) {
        apply(s, e, read_secret_file(full_name(e), it->second),
              "env " + name + "_FILE");
        s.secret_files[full_name(e)] = it->second;
      }
    }
  }
  for (const auto& item : src.overrides) {
    auto eq = item.find('=');
    auto dot = item.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq)
      throw config_error(item, "expected --set section.key=value");
    auto section = item.substr(0, dot);
    auto key = item.substr(dot + 1, eq - dot - 1);
    auto e = find_entry(section, key);
    if (!e)
      throw config_error(section + "." + key, "unknown configuration key");
    if (e->secret)
      throw config_error(section + "." + key,
                         "secrets are not accepted on the command line; set "
                             + env_name(*e));
    apply(s, *e, item.substr(eq + 1), "flag");
  }
  derive_and_validate(s);
  return s;
}

std::string to_redacted_toml(const settings& s) {
  std::ostringstream out;
  std::string section;
  for (const auto& e : table()) {
    if (section != e.section) {
      section = e.section;
      out << (out.tellp() > 0 ? "\n" : "") << "[" << section << "]\n";
    }
    auto value = e.get(s);
    out << e.key << " = ";
    if (e.secret) {
      out << (value.empty() ? "\"\"" : "\"<redacted>\"");
    } else if (e.type == kind::map) {
      out << "{";
      bool first = true;
      for (const auto& [k, v] : split_pairs(full_name(e), value, "k=v")) {
        out << (first ? " " : ", ") << toml_key(k) << " = " << quote(v);
        first = false;
      }
      out << " }";
    } else if (e.type == kind::list) {
      out << "[";
      auto items = split_list(value);
      for (std::size_t i = 0; i < items.size(); ++i)
        out << (i ? ", " : "") << quote(items[i]);
      out << "]";
    } else if (e.type == kind::string) {
      out << quote(value);
    } else {
      out << value;
    }
    if (auto it = s.sources.find(full_name(e)); it != s.sources.end())
      out << "  # from " << it->second;
    out << "\n";
  }
  return out.str();
}

std::vector<std::string> known_keys() {
  std::vector<std::string> out;
  for (const auto& e : table())
    out.push_back(full_name(e));
  return out;
}

} // namespace authsvc::config
