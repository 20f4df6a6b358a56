// passwordless-auth: builds the actor system, starts the HTTP listener and
// waits for a signal. The command line and the offline commands live in
// src/cli*.cpp; everything else in the authsvc_core library.
#include <atomic>
#include <mutex>
#include <thread>
#include <cstdio>
#include <iostream>

#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/auditor_actor.hpp"
#include "actors/caf_api_actor.hpp"
#include "core/tls_files.hpp"
#include "core/caf_peer_registry.hpp"
#include "net/caf_gate.hpp"
#include "net/ephemeral_pki.hpp"
#include "actors/db_actor.hpp"
#include "front/http_front.hpp"
#include "front/overload_shedder.hpp"
#include "actors/ip_filter_actor.hpp"
#include "actors/maintenance_actor.hpp"
#include "actors/rate_limiter_actor.hpp"
#include "actors/mailer_actor.hpp"
#include "actors/metrics_actor.hpp"
#include "actors/passkey_flow.hpp"
#include "actors/session_actor.hpp"
#include "actors/supervisor.hpp"
#include "actors/webhook_actor.hpp"
#include "actors/type_ids.hpp"
#include "front/front_type_ids.hpp"
#include "auth/ip_address.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/key_ring.hpp"
#include "core/log.hpp"
#include "front/pages.hpp"
#include "mail/template_set.hpp"
#include "core/version.hpp"
#include "http/server.hpp"
#include "src/cli.hpp"

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

/// The process status when a top-level actor died that cannot be restarted
/// in place (EX_SOFTWARE): the service manager starts the process again.
constexpr int exit_owner_died = 70;

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

    auto clock = real_clock();
    // Every top-level actor is spawned by a function the supervisor can
    // call again (actors/supervisor.hpp; the table is in
    // docs/reliability.md, "Supervision").
    services svc;
    svc.cfg = cfg;
    svc.keys = keys;
    svc.clock = clock;
    svc.trust_anchors = passkey_flow::load_trust_anchors(*cfg);
    svc.session_dir = std::make_shared<session_directory>();
    // rate_limit.timeout = 0 declares the limiter always unavailable (every
    // request takes rate_limit.on_timeout): then classless routes keep
    // asking the limiter actor, so that declaration holds for them too.
    // With rate_limit.backend = "redis" the ceiling is shared through
    // Redis too, so every request asks the limiter actor (issue 14).
    if (cfg->rate_limit.enabled && cfg->rate_limit.timeout > 0
        && cfg->rate_limit.backend != "redis") {
      auto lc = limiter_config(*cfg, nullptr);
      svc.ip_ceiling = std::make_shared<auth::sharded_rate_limiter>(
          lc.policies[static_cast<std::size_t>(
              auth::limit_class::global_per_ip)],
          lc.max_keys_per_limiter);
      svc.ip_ceiling_audit = std::make_shared<auth::sharded_rate_limiter>(
          auth::rate_policy{1, 60}, 10'000);
    }
    svc.metrics = sys.spawn(metrics_impl,
                            static_cast<double>(clock->unix_ms()) / 1000.0);
    db_options store;
    store.path = cfg->database.path;
    store.synchronous = cfg->database.synchronous;
    store.busy_timeout_ms = static_cast<int>(cfg->database.busy_timeout_ms);
    store.pg_url = cfg->database.url; // PostgreSQL when set (issue 14)
    svc.db = sys.spawn<caf::detached>(db_impl, std::move(store), svc.metrics);
    svc.auditor = sys.spawn(auditor_impl, cfg, svc.db, svc.metrics);
    auto spawn_sessions = [&sys, keys](services& s) {
      s.sessions = sys.spawn(
          session_impl,
          session_options{s.cfg, keys, s.cfg->tokens.key_reload_interval,
                          s.auditor, s.clock, s.mailer, s.session_dir},
          s.db, s.metrics);
      return s.sessions.address();
    };
    // Purges the short-lived rows of owners without a timer, at the period
    // the session actor purges its own. Nobody holds its handle but main.
    auto maintenance = std::make_shared<maintenance_actor>();
    auto spawn_maintenance = [&sys, maintenance](services& s) {
      *maintenance = sys.spawn(
          maintenance_impl,
          maintenance_options{s.cfg->tokens.key_reload_interval, s.clock},
          s.db);
      return maintenance->address();
    };
    auto spawn_mailer = [&sys, templates](services& s) {
      s.mailer = sys.spawn<caf::detached>(
          mailer_impl, mailer_options{s.cfg, s.keys, templates}, s.db,
          s.metrics);
      return s.mailer.address();
    };
    auto spawn_webhooks = [&sys](services& s) {
      s.webhooks = sys.spawn<caf::detached>(
          webhook_impl, webhook_options{s.cfg, s.keys}, s.db, s.metrics,
          s.auditor);
      return s.webhooks.address();
    };
    auto spawn_limiter = [&sys](services& s) {
      s.limiter = sys.spawn(rate_limiter_impl, s.cfg, real_clock(),
                            s.ip_ceiling, s.metrics);
      return s.limiter.address();
    };
    auto spawn_ip_filters = [&sys](services& s) {
      s.ip_filters = sys.spawn(ip_filter_impl, s.cfg, s.db);
      return s.ip_filters.address();
    };
    // The mailer first: the session actor wakes it after queuing a notice
    // (auth.session_max_per_user evictions). A restarted mailer polls its
    // job table, so a session actor holding the old handle loses only the
    // wake-up, never a mail.
    spawn_mailer(svc);
    spawn_sessions(svc);
    spawn_maintenance(svc);
    spawn_webhooks(svc);
    spawn_limiter(svc);
    spawn_ip_filters(svc);
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
    // The HTTP dispatcher reads the fronts through this pointer, which the
    // supervisor swaps when it replaces one.
    using front_list = std::vector<http_front_actor>;
    auto fronts = std::make_shared<std::shared_ptr<const front_list>>(
        std::make_shared<const front_list>(cfg->server.front_actors));
    auto front_lock = std::make_shared<std::mutex>();
    // Main reads the owners' current handles at shutdown from here.
    auto current = std::make_shared<services>(svc);
    auto fatal_exit = std::make_shared<std::atomic<bool>>(false);
    auto server_ptr = std::make_shared<std::atomic<http::server*>>(nullptr);
    {
      supervisor_options so;
      // The CAF API actor holds a snapshot no restart can update: with it
      // running, the owners it calls are not restarted in place.
      auto in_place = cfg->caf.enabled ? on_death::exit_process
                                       : on_death::restart;
      so.children = {
          {"metrics", on_death::exit_process, {}, false,
           svc.metrics.address()},
          {"database", on_death::exit_process, {}, false,
           svc.db.address()},
          {"auditor", on_death::exit_process, {}, false,
           svc.auditor.address()},
          {"sessions", in_place, spawn_sessions, true,
           svc.sessions.address()},
          {"maintenance", on_death::restart, spawn_maintenance, false,
           maintenance->address()},
          {"mailer", in_place, spawn_mailer, true, svc.mailer.address()},
          {"webhooks", in_place, spawn_webhooks, true,
           svc.webhooks.address()},
          {"rate_limiter", in_place, spawn_limiter, true,
           svc.limiter.address()},
          {"ip_filter", in_place, spawn_ip_filters, true,
           svc.ip_filters.address()},
      };
      if (caf_api)
        so.children.push_back({"caf_api", on_death::exit_process, {}, false,
                               caf_api.address()});
      so.front_count = cfg->server.front_actors;
      so.spawn_front = [&sys, fronts, front_lock](const services& s,
                                                  std::size_t i) {
        auto f = sys.spawn(http_front_impl, s);
        std::lock_guard<std::mutex> g{*front_lock};
        auto next = std::make_shared<front_list>(**fronts);
        (*next)[i] = f;
        std::atomic_store(fronts.get(),
                          std::shared_ptr<const front_list>(std::move(next)));
        return f.address();
      };
      so.published = [current](const services& s) { *current = s; };
      so.fatal = [fatal_exit, server_ptr](const std::string&,
                                          const std::string&) {
        fatal_exit->store(true);
        if (auto* srv = server_ptr->load())
          srv->request_stop();
      };
      svc.supervisor = sys.spawn(supervisor_impl, svc, std::move(so));
      // The supervisor spawns the fronts when it starts, on the scheduler:
      // one round trip to it ensures they exist before the listener opens,
      // so no request at startup meets an empty slot (the responder's 503;
      // seen in test_defences.py, whose strict server skips readiness).
      caf::scoped_actor waiter{sys};
      waiter
          ->request(svc.supervisor, std::chrono::seconds(10),
                    atom::status_atom_v)
          .receive([](const supervision_report&) {}, [](const caf::error&) {});
    }

    http::server_options opts;
    opts.host = cfg->server.host;
    opts.port = cfg->server.port;
    opts.max_body_bytes = cfg->server.max_body_bytes;
    opts.max_header_bytes = cfg->server.max_header_bytes;
    opts.max_connections = cfg->server.max_connections;
    opts.max_connections_per_ip = cfg->server.max_connections_per_ip;
    opts.per_ip_exempt = cfg->server.trusted_proxies;
    opts.pipeline_limit = cfg->server.pipeline_limit;
    // Admission control (issue 15): probes are never shed.
    opts.max_in_flight = cfg->server.max_in_flight;
    opts.shed_exempt_paths = {"/liveness", "/readiness", "/health", "/metrics"};
    // Shed requests are answered on the I/O thread, never by an actor
    // (front/overload_shedder.hpp says why).
    opts.shed_reply =
        [shedder = std::make_shared<overload_shedder>(cfg, svc.metrics, clock)](
            const http::request& r) { return (*shedder)(r); };
    opts.header_timeout = to_ms(cfg->server.header_timeout);
    opts.body_timeout = to_ms(cfg->server.body_timeout);
    opts.io_threads = cfg->server.io_threads;
    opts.tls_cert = cfg->server.tls_cert;
    opts.tls_key = cfg->server.tls_key;
    auto next = std::make_shared<std::atomic<std::size_t>>(0);
    http::server server(opts, [fronts, next](http::request&& req,
                                             http::responder_ptr out) {
      auto list = std::atomic_load(fronts.get());
      auto i = next->fetch_add(1, std::memory_order_relaxed) % list->size();
      caf::anon_send((*list)[i], std::move(req), std::move(out));
    });
    server_ptr->store(&server);
    if (fatal_exit->load()) // an owner died before the server existed
      server.request_stop();
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
        g.on_refusal = [metrics = svc.metrics](const char* reason) {
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
    // The supervisor goes first, so that the exits below are not crashes
    // to repair; then the owners it may have replaced are read back.
    server_ptr->store(nullptr);
    caf::anon_send_exit(svc.supervisor, caf::exit_reason::user_shutdown);
    {
      caf::scoped_actor waiter{sys};
      waiter->wait_for(svc.supervisor);
    }
    svc = *current;
    current.reset();
    for (auto& f : *std::atomic_load(fronts.get()))
      caf::anon_send_exit(f, caf::exit_reason::user_shutdown);
    std::atomic_store(fronts.get(), std::shared_ptr<const front_list>());
    if (caf_api) {
      caf::anon_send_exit(caf_api, caf::exit_reason::user_shutdown);
      caf_api = nullptr;
    }
    caf::anon_send_exit(svc.sessions, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(*maintenance, caf::exit_reason::user_shutdown);
    *maintenance = nullptr;
    caf::anon_send_exit(svc.limiter, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc.ip_filters, caf::exit_reason::user_shutdown);
    // The auditor writes what it holds before it goes.
    {
      caf::scoped_actor waiter{sys};
      waiter->request(svc.auditor, std::chrono::seconds(5),
                      atom::flush_atom_v)
          .receive([](std::int32_t) {}, [](caf::error&) {});
    }
    // The mailer finishes the send it is in and records it, so that a
    // message the relay accepted is not sent again after a restart.
    {
      caf::scoped_actor waiter{sys};
      auto limit = to_ms(cfg->smtp.connect_timeout + cfg->smtp.timeout + 5);
      waiter->request(svc.mailer, limit, atom::flush_atom_v)
          .receive(
              [](std::int32_t released) {
                log::info("main", "mailer-stopped", {{"requeued", released}});
              },
              [](caf::error& e) {
                log::warn("main", "mailer-stop-timeout",
                          {{"error", caf::to_string(e)}});
              });
    }
    caf::anon_send_exit(svc.auditor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc.mailer, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc.webhooks, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc.db, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc.metrics, caf::exit_reason::user_shutdown);
    svc = services{};
    if (fatal_exit->load())
      rc = exit_owner_died;
  }
  log::info("main", "stopped", {{"exit_code", rc}});
  log::shutdown();
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  return authsvc::cli::run(argc, argv, serve);
}
