#pragma once
// Shared set-up of the actor suite: a temporary folder with a real SQLite
// file, the service's registered message types, a manual clock every actor
// reads, and a metrics recorder that lets a test wait for the sample an actor
// sends when it finished a step (a completed scan, a failed attempt). Tests
// wait on answers and samples, never on time: nothing here sleeps.
//
// Two schedulers: `deterministic` uses CAF 0.17's test_coordinator (jobs run
// only when the test calls run(), delayed messages only on
// trigger_timeouts()); for actors that talk to nothing but the test. The
// default real scheduler is for the detached actors (DB, mailer, webhooks),
// which run on threads of their own under any scheduler.
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include "actors/db_actor.hpp"
#include "actors/metrics_actor.hpp"
#include "actors/type_ids.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/key_ring.hpp"
#include "core/log.hpp"
#include "tests/unit/mail_test_support.hpp"

namespace authsvc::test {

// -- time and files ----------------------------------------------------------

/// A fresh folder under $TMPDIR, removed at scope end (the mail tests' one).
using mail::test::temp_dir;

/// Files directly in `dir` (0 when it does not exist).
inline std::size_t file_count(const std::filesystem::path& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); ++it)
    if (it->is_regular_file())
      ++n;
  return n;
}

/// A loopback TCP port that refuses connections: bound, never listening, and
/// held for the fixture's life, so no other process can take it meanwhile.
class refusing_port {
public:
  refusing_port() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0
        || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot bind a loopback port");
    port_ = ntohs(a.sin_port);
  }
  ~refusing_port() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  refusing_port(const refusing_port&) = delete;
  refusing_port& operator=(const refusing_port&) = delete;

  std::uint16_t port() const { return port_; }

private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// -- the metrics recorder ----------------------------------------------------

/// Waits for a sample: (await, key, n) answers the value of the n-th sample
/// (1-based, counted from the recorder's start) whose key is `key`: the
/// metric name, or `name{label,...}` for a labelled sample.
using await_atom = caf::atom_constant<caf::atom("tawait")>;
/// (count, key) answers how many samples with `key` arrived so far.
using count_atom = caf::atom_constant<caf::atom("tcount")>;

using recorder_actor = metrics_actor::extend<
    caf::replies_to<await_atom, std::string, std::int32_t>::with<double>,
    caf::replies_to<count_atom, std::string>::with<std::int32_t>>;

struct recorder_state {
  static inline const char* name = "authsvc.test.recorder";
  struct waiter {
    std::string key;
    std::size_t n;
    caf::typed_response_promise<double> rp;
  };
  std::map<std::string, std::vector<double>> seen;
  std::vector<waiter> waiters;
};

inline std::string sample_key(const metrics::sample& s) {
  if (s.labels.empty())
    return s.name;
  std::string k = s.name + "{";
  for (std::size_t i = 0; i < s.labels.size(); ++i)
    k += (i ? "," : "") + s.labels[i];
  return k + "}";
}

/// `samples_expected` only reserves room. It is also there because CAF 0.17
/// binds a reference to a null argument tuple when it starts a function-based
/// actor that takes no arguments besides `self` (UBSan reports it).
inline recorder_actor::behavior_type
recorder_impl(recorder_actor::stateful_pointer<recorder_state> self,
              std::size_t samples_expected) {
  self->state.waiters.reserve(samples_expected);
  auto record = [self](const metrics::sample& s) {
    auto& st = self->state;
    auto key = sample_key(s);
    auto& xs = st.seen[key];
    xs.push_back(s.value);
    for (auto it = st.waiters.begin(); it != st.waiters.end();) {
      if (it->key == key && it->n <= xs.size()) {
        it->rp.deliver(xs[it->n - 1]);
        it = st.waiters.erase(it);
      } else {
        ++it;
      }
    }
  };
  return {
      [=](const metrics::sample& s) { record(s); },
      [=](const std::vector<metrics::sample>& xs) {
        for (const auto& s : xs)
          record(s);
      },
      [=](atom::render_atom) { return std::string(); },
      [=](await_atom, const std::string& key,
          std::int32_t n) -> caf::result<double> {
        auto& xs = self->state.seen[key];
        auto i = static_cast<std::size_t>(n);
        if (i >= 1 && i <= xs.size())
          return xs[i - 1];
        auto rp = self->make_response_promise<double>();
        self->state.waiters.push_back({key, i, rp});
        return rp;
      },
      [=](count_atom, const std::string& key) {
        auto it = self->state.seen.find(key);
        return static_cast<std::int32_t>(
            it == self->state.seen.end() ? 0 : it->second.size());
      },
  };
}

// -- the fixture -------------------------------------------------------------

/// How long a test waits for an answer or a sample before it fails. Only a
/// bound on a broken test: a passing one never waits for it to run out.
constexpr auto answer_timeout = std::chrono::seconds(5);

class actor_fixture {
public:
  explicit actor_fixture(bool deterministic = false)
      : clock(std::make_shared<manual_clock>()),
        cfg(std::make_shared<config::settings>(test_settings(dir))),
        keys(std::make_shared<key_ring>(key_ring::derive(
            "actor-suite-master-secret-0123456789abcdef0123456789abcdef"))),
        sys(init(acfg, deterministic)),
        self(sys, true) {
    if (deterministic)
      sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  }

  virtual ~actor_fixture() {
    for (auto& a : started_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    started_.clear();
    metrics_ = nullptr;
    db_ = nullptr;
    if (sched) {
      sched->run();
    }
  }

  // -- actors ----------------------------------------------------------------

  /// The metrics recorder every actor of the test reports to.
  recorder_actor recorder() {
    if (!metrics_)
      metrics_ = track(sys.spawn(recorder_impl, std::size_t{16}));
    return metrics_;
  }

  /// The DB actor on this test's SQLite file, migrated and ready.
  db_actor db(int busy_timeout_ms = 5000) {
    if (db_)
      return db_;
    db_options o; // by name: db_options grows (pg_url, issue 14)
    o.path = (dir.path() / "auth.db").string();
    o.busy_timeout_ms = busy_timeout_ms;
    o.clock = clock;
    db_ = track(sys.spawn<caf::detached>(db_impl, o, metrics_actor{recorder()}));
    // The first message the DB actor handles opens and migrates; a status
    // asked before that says "not migrated" and is simply asked again.
    for (int i = 0; i < 1000; ++i) {
      db::status st;
      self->request(db_, answer_timeout, atom::status_atom_v)
          .receive([&](db::status& s) { st = std::move(s); },
                   [&](caf::error& e) { FAIL(caf::to_string(e)); });
      if (st.migrated)
        return db_;
      REQUIRE(st.last_error.empty());
    }
    FAIL("the database never became ready");
    return db_;
  }

  /// Remembers `h` so that the fixture stops it at the end.
  template <class Handle>
  Handle track(Handle h) {
    started_.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  // -- talking to actors -----------------------------------------------------

  /// Waits for the n-th sample with `key` (see await_atom); fails the test
  /// when it does not come.
  double await_sample(const std::string& key, std::int32_t n) {
    double v = 0;
    self->request(recorder(), answer_timeout, await_atom::value, key, n)
        .receive([&](double x) { v = x; },
                 [&](caf::error& e) {
                   FAIL("no sample " << key << " #" << n << ": "
                                     << caf::to_string(e));
                 });
    return v;
  }

  /// How many samples with `key` the recorder has seen. Exact for samples
  /// an actor sent before it answered something the test already received.
  std::int32_t sample_count(const std::string& key) {
    std::int32_t n = -1;
    self->request(recorder(), answer_timeout, count_atom::value, key)
        .receive([&](std::int32_t x) { n = x; },
                 [&](caf::error& e) { FAIL(caf::to_string(e)); });
    return n;
  }

  /// Runs one statement through the DB actor (a write, as its own unit).
  db::unit_result write(db::statement s) {
    db::unit u;
    u.statements.push_back(std::move(s));
    return write(std::move(u));
  }

  db::unit_result write(db::unit u) {
    db::unit_result out;
    self->request(db(), answer_timeout, atom::write_atom_v, std::move(u))
        .receive([&](db::unit_result& r) { out = std::move(r); },
                 [&](caf::error& e) { FAIL(caf::to_string(e)); });
    return out;
  }

  /// Runs one read through the DB actor.
  db::rowset query(db::statement s) {
    db::rowset out;
    self->request(db(), answer_timeout, atom::query_atom_v, std::move(s))
        .receive([&](db::rowset& r) { out = std::move(r); },
                 [&](caf::error& e) { FAIL(caf::to_string(e)); });
    return out;
  }

  // -- state -----------------------------------------------------------------

  temp_dir dir;
  std::shared_ptr<manual_clock> clock;
  std::shared_ptr<config::settings> cfg;
  std::shared_ptr<key_ring> keys;
  caf::actor_system_config acfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  /// The deterministic scheduler, or nullptr on the real one.
  caf::scheduler::test_coordinator* sched = nullptr;

private:
  static caf::actor_system_config& init(caf::actor_system_config& c,
                                        bool deterministic) {
    static bool logging = (log::init("off", "json"), true);
    (void) logging;
    register_types(c);
    c.set("logger.file-verbosity", caf::atom("quiet"));
    c.set("logger.console-verbosity", caf::atom("quiet"));
    if (deterministic)
      c.set("scheduler.policy", caf::atom("testing"));
    else
      c.set("scheduler.max-threads", 2);
    return c;
  }

  /// Settings for tests: the outbox in the test folder, and periodic scans
  /// far apart, so that every scan a test sees is one it asked for.
  static config::settings test_settings(const temp_dir& d) {
    config::settings s;
    s.database.path = (d.path() / "auth.db").string();
    s.mail.transport = "outbox";
    s.mail.outbox_dir = (d.path() / "outbox").string();
    s.mail.poll_interval = 3600;
    s.webhooks.poll_interval = 3600;
    return s;
  }

  std::vector<caf::actor> started_;
  recorder_actor metrics_;
  db_actor db_;
};

} // namespace authsvc::test
