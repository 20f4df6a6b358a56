// The auditor on a manual clock: it stamps events with the injected clock's
// time, and its retention purge cuts off at that clock's "now", so a test
// moves time by hand instead of waiting (no sleeps: every step waits on a
// response). A real DB actor on a temporary SQLite file.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <memory>

#include <unistd.h>

#include <caf/all.hpp>

#include "actors/auditor_actor.hpp"
#include "actors/db_actor.hpp"
#include "actors/metrics_actor.hpp"
#include "actors/type_ids.hpp"
#include "core/clock.hpp"
#include "db/audit_store.hpp"

using namespace authsvc;

namespace {

constexpr auto wait = std::chrono::seconds(5);

struct auditor_fixture {
  std::filesystem::path dir;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
  std::shared_ptr<config::settings> settings
      = std::make_shared<config::settings>();
  metrics_actor metrics;
  db_actor db;
  auditor_actor auditor;

  auditor_fixture() {
    dir = std::filesystem::temp_directory_path()
          / ("auditor-clock-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    register_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    metrics = sys->spawn(metrics_impl, 0.0);
    db_options store; // by name: db_options grows (pg_url, issue 14)
    store.path = (dir / "auth.db").string();
    db = sys->spawn<caf::detached>(db_impl, store, metrics);
    wait_for_migrations();
    settings->audit.retention_days = 30;
    auditor = sys->spawn(auditor_with_clock,
                         std::shared_ptr<const config::settings>(settings), db,
                         metrics, clock_ptr(clock));
  }

  ~auditor_fixture() {
    caf::anon_send_exit(auditor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(db, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(metrics, caf::exit_reason::user_shutdown);
    auditor = nullptr;
    db = nullptr;
    metrics = nullptr;
    sys.reset();
    std::filesystem::remove_all(dir);
  }

  void wait_for_migrations() {
    caf::scoped_actor self{*sys};
    for (int i = 0; i < 10000; ++i) {
      bool migrated = false;
      self->request(db, wait, atom::status_atom_v)
          .receive([&](db::status& st) { migrated = st.migrated; },
                   [&](caf::error& e) { FAIL(caf::to_string(e)); });
      if (migrated)
        return;
    }
    FAIL("the database did not migrate");
  }

  /// Writes what the auditor buffers; answers how many events it wrote.
  std::int32_t flush() {
    caf::scoped_actor self{*sys};
    std::int32_t n = -1;
    self->request(auditor, wait, atom::flush_atom_v)
        .receive([&](std::int32_t x) { n = x; },
                 [&](caf::error& e) { FAIL(caf::to_string(e)); });
    return n;
  }

  /// Every stored event, oldest first.
  std::vector<db::audit_store::stored_event> stored() {
    caf::scoped_actor self{*sys};
    std::vector<db::audit_store::stored_event> out;
    self->request(db, wait, atom::query_atom_v,
                  db::audit_store::export_range(0, 0))
        .receive(
            [&](db::rowset& rs) { out = db::audit_store::decode_events(rs); },
            [&](caf::error& e) { FAIL(caf::to_string(e)); });
    return out;
  }

  void record(const std::string& type) {
    audit_event e;
    e.type = type;
    caf::anon_send(auditor, e);
  }
};

} // namespace

TEST_CASE("the auditor stamps events with its injected clock",
          "[actors][auditor][clock]") {
  auditor_fixture f;
  f.record("test.first");
  CHECK(f.flush() == 1);
  auto events = f.stored();
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == "test.first");
  CHECK(events[0].created_at == f.clock->unix_seconds());
}

TEST_CASE("the retention purge cuts off at the injected clock's now",
          "[actors][auditor][clock]") {
  auditor_fixture f;
  f.record("test.old");
  REQUIRE(f.flush() == 1);
  auto old_time = f.clock->unix_seconds();
  // One day short of the retention: the purge keeps the event.
  f.clock->advance(std::chrono::hours(24 * 29));
  caf::anon_send(f.auditor, atom::purge_atom_v);
  f.record("test.mid");
  // The purge's write reached the DB actor before this batch, and the batch
  // is answered after its commit, so the purge is done by then.
  REQUIRE(f.flush() == 1);
  REQUIRE(f.stored().size() == 2);
  // Past the retention: the old event goes, the newer one stays.
  f.clock->advance(std::chrono::hours(24 * 2));
  caf::anon_send(f.auditor, atom::purge_atom_v);
  f.record("test.new");
  REQUIRE(f.flush() == 1);
  auto events = f.stored();
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == "test.mid");
  CHECK(events[1].type == "test.new");
  CHECK(events[1].created_at == old_time + 31 * 86400);
}
