// passwordless-auth: parses the configuration, builds the actor system,
// starts the HTTP listener and waits for a signal. Everything else lives in
// the authsvc_core library.
#include <atomic>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <caf/io/all.hpp>

#include "actors/auditor_actor.hpp"
#include "actors/db_actor.hpp"
#include "actors/http_front.hpp"
#include "actors/mailer_actor.hpp"
#include "actors/metrics_actor.hpp"
#include "actors/session_actor.hpp"
#include "actors/type_ids.hpp"
#include "core/config.hpp"
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
  for (const auto& w : cfg->warnings)
    if (w.find("auth.secret_key") == std::string::npos)
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
  int rc = 0;
  {
    caf::actor_system_config acfg;
    register_types(acfg);
    acfg.load<caf::io::middleman>();
    // Work sharing halves the idle latency of an actor hop on small
    // machines (docs/caf-0.17 measurements: 81 µs vs 167 µs p50).
    acfg.set("scheduler.policy", caf::atom("sharing"));
    acfg.set("scheduler.max-threads", 2);
    caf::actor_system sys{acfg};

    auto metrics = sys.spawn(metrics_impl);
    auto db = sys.spawn<caf::detached>(
      db_impl,
      db_options{cfg->database.path, cfg->database.synchronous,
                 static_cast<int>(cfg->database.busy_timeout_ms)},
      metrics);
    auto auditor = sys.spawn(auditor_impl, cfg, db, metrics);
    auto sessions = sys.spawn(session_impl,
                              session_options{cfg, keys,
                                              cfg->tokens.key_reload_interval,
                                              auditor},
                              db, metrics);
    auto mailer = sys.spawn<caf::detached>(
      mailer_impl, mailer_options{cfg, keys, templates}, db, metrics);
    services svc{cfg, keys, metrics, db, sessions, mailer, auditor};
    std::vector<http_front_actor> fronts;
    for (std::size_t i = 0; i < cfg->server.front_actors; ++i)
      fronts.push_back(sys.spawn(http_front_impl, svc));

    http::server_options opts;
    opts.host = cfg->server.host;
    opts.port = cfg->server.port;
    opts.max_body_bytes = cfg->server.max_body_bytes;
    opts.max_header_bytes = cfg->server.max_header_bytes;
    opts.max_connections = cfg->server.max_connections;
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
      auto port = server.start();
      log::info("http", "http-listening",
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
    for (auto& f : fronts)
      caf::anon_send_exit(f, caf::exit_reason::user_shutdown);
    fronts.clear();
    caf::anon_send_exit(sessions, caf::exit_reason::user_shutdown);
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
            log::warn("main", "mailer-stop-timeout", {{"error", caf::to_string(e)}});
          });
    }
    caf::anon_send_exit(auditor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(mailer, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(db, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(metrics, caf::exit_reason::user_shutdown);
    sessions = nullptr;
    mailer = nullptr;
    auditor = nullptr;
    db = nullptr;
    metrics = nullptr;
    svc = services{};
  }
  log::info("main", "stopped", {{"exit_code", rc}});
  log::shutdown();
  return rc;
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
  auto* keys_cmd = app.add_subcommand("keys", "manage signing keys");
  auto* rotate_cmd = keys_cmd->add_subcommand(
    "rotate", "add a new signing key; old keys verify until their tokens expire");
  keys_cmd->require_subcommand(1);
  keys_cmd->fallthrough();
  rotate_cmd->fallthrough();
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
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
