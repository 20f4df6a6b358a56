// passwordless-auth: parses the configuration, builds the actor system,
// starts the HTTP listener and waits for a signal. Everything else lives in
// the authsvc_core library.
#include <atomic>
#include <thread>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/auditor_actor.hpp"
#include "actors/caf_api_actor.hpp"
#include "core/tls_files.hpp"
#include "core/caf_peer_registry.hpp"
#include "net/caf_gate.hpp"
#include "net/ephemeral_pki.hpp"
#include "actors/db_actor.hpp"
#include "actors/http_front.hpp"
#include "actors/ip_filter_actor.hpp"
#include "actors/rate_limiter_actor.hpp"
#include "actors/mailer_actor.hpp"
#include "actors/metrics_actor.hpp"
#include "actors/session_actor.hpp"
#include "actors/webhook_actor.hpp"
#include "actors/type_ids.hpp"
#include "http/front_type_ids.hpp"
#include "auth/crypto.hpp"
#include "auth/ids.hpp"
#include "auth/ip_address.hpp"
#include "core/config.hpp"
#include "db/sqlite_executor.hpp"
#include "core/key_ring.hpp"
#include "core/log.hpp"
#include "http/pages.hpp"
#include "mail/template_set.hpp"
#include "core/version.hpp"
#include "http/server.hpp"

namespace {

using namespace authsvc;

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

/// True for addresses only this machine can reach (127.0.0.0/8, ::1).
bool is_loopback_host(const std::string& host) {
  auto ip = auth::ip_address::parse(host);
  if (!ip)
    return host == "localhost";
  auto plain = ip->unmapped();
  if (plain.is_v4())
    return plain.v4_octets()[0] == 127;
  return plain == *auth::ip_address::parse("::1");
}

/// Loads the master secret (or makes one) and derives the key ring.
std::shared_ptr<const key_ring> make_keys(const config::settings& cfg) {
  bool generated = false;
  auto master = load_or_create_master_secret(cfg, &generated);
  if (generated)
    log::warn("config", "secret-key-generated",
              {{"message", "no auth.secret_key configured: generated one in "
                           "secret.key next to the database; set "
                           "PA_AUTH_SECRET_KEY in production"}});
  return std::make_shared<const key_ring>(key_ring::derive(master));
}

/// Mail and page templates are checked before anything starts, so a broken
/// operator template stops the service at start, not at the first send.
std::shared_ptr<const mail::template_set>
load_templates(const config::settings& cfg) {
  auto set = cfg.mail.templates_dir.empty()
                 ? mail::template_set::load_embedded()
                 : mail::template_set::load_directory(cfg.mail.templates_dir);
  if (!set)
    throw std::runtime_error("mail templates: " + set.err().message);
  http::validate_pages();
  return std::make_shared<const mail::template_set>(std::move(*set));
}

int serve(std::shared_ptr<const config::settings> cfg) {
  log::init(cfg->log.level, cfg->log.format);
  // A generated key is logged as secret-key-generated (make_keys).
  for (const auto& w : cfg->warnings)
    if (w.rfind("auth.secret_key is not set", 0) != 0)
      log::warn("config", "config-warning", {{"message", w}});
  std::shared_ptr<const key_ring> keys;
  std::shared_ptr<const mail::template_set> templates;
  try {
    keys = make_keys(*cfg);
    templates = load_templates(*cfg);
  } catch (const std::exception& e) {
    log::error("main", "startup-failed", {{"error", e.what()}});
    log::shutdown();
    return 2;
  }
  // CAF's openssl module only reads its files at the first connection and
  // terminates the process on a bad one: check them now.
  bool caf_tls = cfg->caf.enabled && !cfg->caf.cert.empty();
  if (caf_tls) {
    if (auto bad = check_tls_files(cfg->caf.cert, cfg->caf.key, cfg->caf.ca)) {
      log::error("main", "startup-failed",
                 {{"key", "caf." + bad->which},
                  {"error", "caf." + bad->which + ": " + bad->message}});
      log::shutdown();
      return 2;
    }
  }
  std::unique_ptr<net::ephemeral_pki> caf_inner;
  if (cfg->caf.enabled) {
    try {
      caf_inner = std::make_unique<net::ephemeral_pki>();
    } catch (const std::exception& e) {
      log::error("main", "startup-failed", {{"error", e.what()}});
      log::shutdown();
      return 2;
    }
  }
  auto caf_peers = std::make_shared<caf_peer_registry>();
  std::unique_ptr<net::caf_gate> gate;
  int rc = 0;
  {
    caf::actor_system_config acfg;
    register_types(acfg);
    register_front_types(acfg);
    passwordless::api::register_types(acfg);
    acfg.load<caf::io::middleman>();
    if (caf_inner) {
      // CAF's own endpoint only ever talks to the gate in this process:
      // mutual TLS with a throw-away pair (net/ephemeral_pki) keeps it from
      // being a side door for other local processes.
      acfg.load<caf::openssl::manager>();
      acfg.openssl_certificate = caf_inner->cert_file();
      acfg.openssl_key = caf_inner->key_file();
      acfg.openssl_cafile = caf_inner->cert_file();
    }
    // Work sharing halves the idle latency of an actor hop on small
    // machines (docs/caf-0.17 measurements: 81 µs vs 167 µs p50).
    acfg.set("scheduler.policy", caf::atom("sharing"));
    auto workers = cfg->server.actor_threads;
    if (workers == 0) {
      auto cores = std::max(1u, std::thread::hardware_concurrency());
      workers
          = cores > cfg->server.io_threads ? cores - cfg->server.io_threads : 1;
    }
    acfg.set("scheduler.max-threads", workers);
    caf::actor_system sys{acfg};

    auto metrics = sys.spawn(
        metrics_impl, std::chrono::duration<double>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count());
    auto db = sys.spawn<caf::detached>(
        db_impl,
        db_options{cfg->database.path, cfg->database.synchronous,
                   static_cast<int>(cfg->database.busy_timeout_ms)},
        metrics);
    auto auditor = sys.spawn(auditor_impl, cfg, db, metrics);
    auto sessions = sys.spawn(
        session_impl,
        session_options{cfg, keys, cfg->tokens.key_reload_interval, auditor},
        db, metrics);
    auto mailer = sys.spawn<caf::detached>(
        mailer_impl, mailer_options{cfg, keys, templates}, db, metrics);
    auto webhooks = sys.spawn<caf::detached>(
        webhook_impl, webhook_options{cfg, keys}, db, metrics, auditor);
    auto limiter = sys.spawn(rate_limiter_impl, cfg, real_clock());
    auto ip_filters = sys.spawn(ip_filter_impl, cfg, db);
    services svc{cfg,    keys,    metrics,  db,      sessions,
                 mailer, auditor, webhooks, limiter, ip_filters};
    caf_api_actor caf_api;
    if (cfg->caf.enabled) {
      caf_api_options o;
      o.peers = caf_peers;
      if (cfg->rate_limit.enabled) {
        auto [n, p] = config::parse_rate("caf.rate_limit", cfg->caf.rate_limit);
        o.rate = auth::rate_policy{static_cast<std::uint32_t>(n), p};
      }
      caf_api = sys.spawn(caf_api_impl, svc, o);
    }
    std::vector<http_front_actor> fronts;
    for (std::size_t i = 0; i < cfg->server.front_actors; ++i)
      fronts.push_back(sys.spawn(http_front_impl, svc));

    http::server_options opts;
    opts.host = cfg->server.host;
    opts.port = cfg->server.port;
    opts.max_body_bytes = cfg->server.max_body_bytes;
    opts.max_header_bytes = cfg->server.max_header_bytes;
    opts.max_connections = cfg->server.max_connections;
    opts.max_connections_per_ip = cfg->server.max_connections_per_ip;
    opts.per_ip_exempt = cfg->server.trusted_proxies;
    opts.pipeline_limit = cfg->server.pipeline_limit;
    opts.header_timeout = to_ms(cfg->server.header_timeout);
    opts.body_timeout = to_ms(cfg->server.body_timeout);
    opts.io_threads = cfg->server.io_threads;
    opts.tls_cert = cfg->server.tls_cert;
    opts.tls_key = cfg->server.tls_key;
    auto next = std::make_shared<std::atomic<std::size_t>>(0);
    http::server server(opts, [fronts, next](http::request&& req,
                                             http::responder_ptr out) {
      auto i = next->fetch_add(1, std::memory_order_relaxed) % fronts.size();
      caf::anon_send(fronts[i], std::move(req), std::move(out));
    });
    try {
      if (caf_api) {
        // Only this actor is published: internal actors never leave the
        // process, so a remote node cannot address them. CAF 0.17 also
        // answers remote lookups of its own named actors: "ConfigServ"
        // (reads and writes the actor system's settings) and "SpawnServ"
        // (remote spawning). Neither is needed here, so neither is
        // registered (tests/integration/test_caf_api.py probes for them).
        sys.registry().erase(caf::atom("ConfigServ"));
        sys.registry().erase(caf::atom("SpawnServ"));
        // CAF listens on loopback behind the gate, which owns the public
        // port: mutual TLS with client identities, the message size cap
        // (net/caf_gate.hpp says why CAF 0.17 cannot do either itself).
        auto inner = caf::openssl::publish(caf_api, 0, "127.0.0.1", true);
        if (!inner)
          throw std::runtime_error("caf: cannot publish on loopback: "
                                   + sys.render(inner.error()));
        net::caf_gate_options g;
        g.host = cfg->caf.host;
        g.port = cfg->caf.port;
        if (caf_tls) {
          g.cert = cfg->caf.cert;
          g.key = cfg->caf.key;
          g.ca = cfg->caf.ca;
        }
        g.allowed_clients = cfg->caf.allowed_clients;
        g.max_message_bytes = cfg->caf.max_message_bytes;
        g.inner_port = *inner;
        g.inner_cert = caf_inner->cert_file();
        g.inner_key = caf_inner->key_file();
        g.on_refusal = [metrics](const char* reason) {
          caf::anon_send(
              metrics, metrics::inc("caf_connections_refused_total", {reason}));
        };
        gate = std::make_unique<net::caf_gate>(std::move(g), caf_peers);
        auto p = gate->start();
        if (!caf_tls)
          log::warn("caf", "caf-insecure-plaintext",
                    {{"host", cfg->caf.host},
                     {"message", "CAF endpoint without TLS or client "
                                 "authentication (caf.insecure_plaintext)"}});
        log::info("caf", "caf-listening",
                  {{"host", cfg->caf.host},
                   {"port", p},
                   {"max_message_bytes", cfg->caf.max_message_bytes},
                   {"tls", caf_tls},
                   {"api_version", passwordless::api::interface_version}});
      }
      auto port = server.start();
      if (cfg->metrics.token.empty() && !is_loopback_host(opts.host))
        log::warn("http", "metrics-public",
                  {{"host", opts.host},
                   {"message", "GET /metrics answers anyone who can reach "
                               "this address (route counts, sign-in and "
                               "error rates); set PA_METRICS_TOKEN, or bind "
                               "server.host to loopback"}});
      log::always("http", "http-listening",
                  {{"host", opts.host},
                   {"port", port},
                   {"tls", !opts.tls_cert.empty()},
                   {"version", authsvc::version}});
      server.wait_for_signal();
      log::info("main", "shutdown-started",
                {{"open_connections", server.connections()}});
      bool clean = server.drain(to_ms(cfg->server.shutdown_timeout));
      log::info("main", clean ? "http-drained" : "http-drain-timeout");
    } catch (const std::exception& e) {
      log::error("main", "startup-failed", {{"error", e.what()}});
      rc = 1;
    }
    if (gate) {
      gate->stop();
      gate.reset(); // its refusal callback holds the metrics actor
    }
    for (auto& f : fronts)
      caf::anon_send_exit(f, caf::exit_reason::user_shutdown);
    fronts.clear();
    if (caf_api) {
      caf::anon_send_exit(caf_api, caf::exit_reason::user_shutdown);
      caf_api = nullptr;
    }
    caf::anon_send_exit(sessions, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc.limiter, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc.ip_filters, caf::exit_reason::user_shutdown);
    // The auditor writes what it holds before it goes.
    {
      caf::scoped_actor waiter{sys};
      waiter->request(auditor, std::chrono::seconds(5), atom::flush_atom_v)
          .receive([](std::int32_t) {}, [](caf::error&) {});
    }
    // The mailer finishes the send it is in and records it, so that a
    // message the relay accepted is not sent again after a restart.
    {
      caf::scoped_actor waiter{sys};
      auto limit = to_ms(cfg->smtp.connect_timeout + cfg->smtp.timeout + 5);
      waiter->request(mailer, limit, atom::flush_atom_v)
          .receive(
              [](std::int32_t released) {
                log::info("main", "mailer-stopped", {{"requeued", released}});
              },
              [](caf::error& e) {
                log::warn("main", "mailer-stop-timeout",
                          {{"error", caf::to_string(e)}});
              });
    }
    caf::anon_send_exit(auditor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(mailer, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(webhooks, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(db, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(metrics, caf::exit_reason::user_shutdown);
    sessions = nullptr;
    mailer = nullptr;
    auditor = nullptr;
    webhooks = nullptr;
    db = nullptr;
    metrics = nullptr;
    svc = services{};
  }
  log::info("main", "stopped", {{"exit_code", rc}});
  log::shutdown();
  return rc;
}

/// Opens the database file directly (beside a running service: WAL).
std::unique_ptr<db::sqlite_executor> open_db(const config::settings& cfg) {
  auto ex = std::make_unique<db::sqlite_executor>(
      cfg.database.path, cfg.database.synchronous,
      static_cast<int>(cfg.database.busy_timeout_ms));
  ex->migrate(db::embedded_migrations());
  return ex;
}

/// @returns {key id, key}; only the HMAC of the key is stored.
std::pair<std::string, std::string>
create_admin_key(const config::settings& cfg, const std::string& name) {
  if (name.empty() || name.size() > 100)
    throw std::runtime_error("--name must be 1 to 100 characters");
  auto keys = key_ring::derive(load_or_create_master_secret(cfg, nullptr));
  auto key = "pa_admin_" + auth::random_token(32);
  auto id = auth::uuid_v4();
  auto ex = open_db(cfg);
  ex->begin();
  ex->query(
      db::stmt("INSERT INTO admin_api_keys(id, name, key_hash, created_at) "
               "VALUES (?, ?, ?, strftime('%s','now'))",
               {db::value::text(id), db::value::text(name),
                db::value::text(auth::hex_encode(
                    auth::hmac_sha256(keys.admin_pepper, key)))}));
  ex->commit();
  return {id, key};
}

int export_audit(const config::settings& cfg, std::int64_t since,
                 std::int64_t until, std::ostream& out) {
  auto ex = open_db(cfg);
  auto rs = ex->query(db::stmt(
      "SELECT id, event_type, created_at, user_id, email, ip, user_agent, "
      "request_id, actor, success, metadata FROM audit_logs WHERE created_at "
      ">= ? "
      "AND (? = 0 OR created_at <= ?) ORDER BY id",
      {db::value::integer(since), db::value::integer(until),
       db::value::integer(until)}));
  for (std::size_t i = 0; i < rs.rows.size(); ++i) {
    auto text = [&](const char* c) -> nlohmann::json {
      const auto& v = rs.at(i, c);
      return v.is_null() ? nlohmann::json(nullptr) : nlohmann::json(v.s);
    };
    auto meta = nlohmann::json::parse(rs.at(i, "metadata").s, nullptr, false);
    nlohmann::json line
        = {{"id", std::to_string(rs.at(i, "id").i)},
           {"type", rs.at(i, "event_type").s},
           {"created_at", rs.at(i, "created_at").i},
           {"user_id", text("user_id")},
           {"email", text("email")},
           {"ip", text("ip")},
           {"user_agent", text("user_agent")},
           {"request_id", text("request_id")},
           {"actor", text("actor")},
           {"success", rs.at(i, "success").i != 0},
           {"metadata", meta.is_object() ? meta : nlohmann::json::object()}};
    out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"passwordless-auth: self-hosted passwordless authentication"};
  std::string config_path;
  std::vector<std::string> overrides;
  bool show_version = false;
  app.add_option("-c,--config", config_path, "path to config.toml");
  app.add_option("--set", overrides,
                 "override a key: --set server.port=3001 (repeatable)");
  app.add_flag("-V,--version", show_version, "print the version and exit");
  auto* serve_cmd = app.add_subcommand("serve", "run the service (default)");
  serve_cmd->fallthrough();
  auto* check_cmd = app.add_subcommand(
      "check-config", "validate and print the effective configuration");
  check_cmd->fallthrough();
  auto* admin_cmd = app.add_subcommand("admin", "manage admin API keys");
  auto* create_key_cmd = admin_cmd->add_subcommand(
      "create-key", "create an admin API key (printed once, stored hashed)");
  std::string key_name;
  create_key_cmd->add_option("--name", key_name, "a name for the key")
      ->required();
  admin_cmd->require_subcommand(1);
  admin_cmd->fallthrough();
  create_key_cmd->fallthrough();
  auto* audit_cmd = app.add_subcommand("audit", "read the audit trail");
  auto* export_cmd = audit_cmd->add_subcommand(
      "export", "write audit events as JSON lines to stdout");
  std::int64_t export_since = 0;
  std::int64_t export_until = 0;
  export_cmd->add_option("--since", export_since, "unix seconds (inclusive)")
      ->required();
  export_cmd->add_option("--until", export_until, "unix seconds (inclusive)");
  audit_cmd->require_subcommand(1);
  audit_cmd->fallthrough();
  export_cmd->fallthrough();
  auto* routes_cmd = app.add_subcommand(
      "routes", "print every route the service answers (method and path)");
  routes_cmd->fallthrough();
  auto* keys_cmd = app.add_subcommand("keys", "manage signing keys");
  auto* rotate_cmd = keys_cmd->add_subcommand(
      "rotate",
      "add a new signing key; old keys verify until their tokens expire");
  keys_cmd->require_subcommand(1);
  keys_cmd->fallthrough();
  rotate_cmd->fallthrough();
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*routes_cmd) {
    for (const auto& r : route_table().routes())
      std::cout << r.method << " " << r.pattern << "\n";
    return 0;
  }
  if (show_version) {
    std::cout << "passwordless-auth " << authsvc::version << "\n";
    return 0;
  }
  std::shared_ptr<const config::settings> cfg;
  try {
    config::sources src;
    src.config_path = config_path;
    src.environment = config::process_environment();
    src.overrides = overrides;
    cfg = std::make_shared<const config::settings>(config::load(src));
  } catch (const config::config_error& e) {
    std::cerr << "config error: " << e.what() << "\n";
    return 2;
  }
  if (*check_cmd) {
    std::cout << config::to_redacted_toml(*cfg);
    for (const auto& w : cfg->warnings)
      std::cerr << "warning: " << w << "\n";
    return 0;
  }
  if (*create_key_cmd) {
    try {
      auto kid = create_admin_key(*cfg, key_name);
      std::cout << kid.second << "\n";
      std::cerr << "admin key " << kid.first << " (" << key_name
                << ") created; it is shown only once\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "admin create-key: " << e.what() << "\n";
      return 1;
    }
  }
  if (*export_cmd) {
    try {
      return export_audit(*cfg, export_since, export_until, std::cout);
    } catch (const std::exception& e) {
      std::cerr << "audit export: " << e.what() << "\n";
      return 1;
    }
  }
  if (*rotate_cmd) {
    try {
      bool generated = false;
      auto master = load_or_create_master_secret(*cfg, &generated);
      auto kid = rotate_signing_key_offline(*cfg, key_ring::derive(master));
      std::cout << "new signing key " << kid << "\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "keys rotate: " << e.what() << "\n";
      return 1;
    }
  }
  return serve(cfg);
}
