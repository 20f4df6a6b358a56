// The webhook actor's circuit breaker: after five consecutive failed
// deliveries an endpoint's circuit opens and its deliveries wait; after the
// cool-down on the clock it half-opens (deliveries are tried again), and a
// new run of failures opens it for twice as long. Real parts: the SQLite
// file and real HTTP attempts over loopback to a port that refuses
// connections; time is the manual clock, and each scan is awaited through
// its webhook_polls_total sample.
#include "actor_fixture.hpp"

#include "actors/webhook_actor.hpp"
#include "db/audit_store.hpp"
#include "db/webhooks_store.hpp"

namespace {

using namespace authsvc;
namespace store = db::webhooks_store;

constexpr const char* polls = "webhook_polls_total";
constexpr const char* circuits = "webhook_circuits_open";
constexpr const char* retried = "webhook_deliveries_total{retried}";

audit_event user_created(int i) {
  audit_event e;
  e.type = "user.created";
  e.user_id = "user-" + std::to_string(i);
  e.metadata = "{}";
  e.created_at = 1700000000 + i;
  return e;
}

} // namespace

TEST_CASE("the circuit opens after five failures and half-opens after the "
          "cool-down on the clock",
          "[webhooks][breaker]") {
  test::actor_fixture fx;
  test::refusing_port receiver;
  fx.cfg->webhooks.url
      = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook";
  fx.cfg->webhooks.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  fx.cfg->webhooks.allow_private_targets = true;
  fx.cfg->webhooks.timeout = 2;
  auto db = fx.db();

  webhook_options opts{fx.cfg, fx.keys, fx.clock, std::chrono::hours(1)};
  auto hooks = fx.track(fx.sys.spawn<caf::detached>(
      webhook_impl, opts, db, metrics_actor{fx.recorder()}, auditor_actor{}));
  std::int32_t scans = 0;
  auto await_scan = [&] {
    ++scans;
    fx.await_sample(polls, scans);
    return fx.await_sample(circuits, scans);
  };
  auto deliveries = [&] {
    return store::decode_deliveries(fx.query(store::deliveries_to("config")));
  };

  // The scan after loading the endpoints: nothing to deliver yet.
  CHECK(await_scan() == 0);

  // Five events, one at a time: each delivery is tried once and fails
  // (connection refused); its retry is not due before 30 s on the clock.
  for (int i = 1; i <= 5; ++i) {
    // The auditor's part: the event's row commits, then a wake.
    REQUIRE(fx.write(db::audit_store::insert(user_created(i))).ok);
    caf::anon_send(hooks, atom::wake_atom_v);
    CHECK(await_scan() == 0); // the circuit was closed when this scan began
    CHECK(fx.await_sample(retried, i) == 1);
  }
  CHECK(fx.sample_count(retried) == 5);

  // The sixth event finds the circuit open: its delivery is not tried.
  REQUIRE(fx.write(db::audit_store::insert(user_created(6))).ok);
  caf::anon_send(hooks, atom::wake_atom_v);
  CHECK(await_scan() == 1);
  CHECK(fx.sample_count(retried) == 5);
  auto ds = deliveries();
  REQUIRE(ds.size() == 6);
  std::string sixth;
  for (const auto& d : ds) {
    CHECK(d.status == "pending");
    if (d.attempts == 0) {
      CHECK(sixth.empty());
      sixth = d.id;
    } else {
      CHECK(d.attempts == 1);
      CHECK_FALSE(d.last_error.empty());
    }
  }
  REQUIRE_FALSE(sixth.empty());

  // One second before the cool-down (30 s) ends it is still open.
  fx.clock->advance(std::chrono::seconds(29));
  caf::anon_send(hooks, atom::wake_atom_v);
  CHECK(await_scan() == 1);
  CHECK(fx.sample_count(retried) == 5);

  // After it, the circuit half-opens: every due delivery is tried again
  // (the five retries and the sixth), all fail, and the fifth failure of
  // this run opens the circuit again.
  fx.clock->advance(std::chrono::seconds(1));
  caf::anon_send(hooks, atom::wake_atom_v);
  CHECK(await_scan() == 0);
  CHECK(fx.sample_count(retried) == 11);
  for (const auto& d : deliveries()) {
    CHECK(d.status == "pending");
    CHECK(d.attempts == (d.id == sixth ? 1 : 2));
  }

  // The second trip lasts twice as long: 60 s.
  fx.clock->advance(std::chrono::seconds(59));
  caf::anon_send(hooks, atom::wake_atom_v);
  CHECK(await_scan() == 1);
  fx.clock->advance(std::chrono::seconds(1));
  caf::anon_send(hooks, atom::wake_atom_v);
  CHECK(await_scan() == 0);
}
