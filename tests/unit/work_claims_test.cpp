// Work done once across nodes (issue 14): mail jobs and webhook deliveries
// claimed with a lease, on PostgreSQL FOR UPDATE SKIP LOCKED, and webhook
// deliveries derived from committed audit rows past a cursor. The same
// bodies run on SQLite (unit_tests) and on a throw-away PostgreSQL 15
// (unit_tests_postgres); the cases about concurrent connections need
// PostgreSQL (SQLite has one writer) and say so without it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "db/audit_store.hpp"
#include "db/flows_store.hpp"
#include "db/mail_store.hpp"
#include "db/pg_executor.hpp"
#include "db/webhooks_store.hpp"
#include "test_store.hpp"

using namespace authsvc;
namespace ms = db::mail_store;
namespace ws = db::webhooks_store;

namespace {

struct claims_db {
  std::filesystem::path dir;
  testing::store_scope scope;
  std::unique_ptr<db::executor> ex;
  claims_db() {
    dir = std::filesystem::temp_directory_path()
          / ("pa-claims-" + std::to_string(std::rand()));
    std::filesystem::create_directories(dir);
    ex = scope.open_migrated((dir / "auth.db").string());
  }
  ~claims_db() {
    ex.reset();
    std::filesystem::remove_all(dir);
  }
  db::backend engine() const { return ex->kind(); }
  /// Another connection to the same database (PostgreSQL only).
  std::unique_ptr<db::executor> second() {
    auto rs = ex->query(db::stmt("SELECT current_schema() AS s"));
    auto other = std::make_unique<db::pg_executor>(
        db::pg_options{testing::test_pg_url(), rs.rows.at(0).at(0).s});
    // A claim that waited for a lock instead of skipping it fails here,
    // instead of hanging the one-threaded test.
    other->set_busy_timeout(500);
    return other;
  }
  void queue_mail(const std::string& id, std::int64_t now) {
    REQUIRE(ex->run(db::unit{{ms::queue_job(id, "<" + id + "@test>",
                                            id + "@example.org", "sign_in",
                                            "en", "sealed", now)}})
                .ok);
  }
  static std::set<std::string> ids(const std::vector<ms::claimed_job>& js) {
    std::set<std::string> out;
    for (const auto& j : js)
      out.insert(j.id);
    return out;
  }
  std::vector<ms::claimed_job> claim(db::executor& on, std::int64_t now,
                                     std::int64_t lease,
                                     const std::string& owner,
                                     std::int64_t batch,
                                     bool take_over_lapsed = true) {
    auto r = on.run(db::unit{{ms::claim_due(engine(), now, now + lease, owner,
                                            batch, take_over_lapsed)}});
    REQUIRE(r.ok);
    return ms::decode_claimed(r.results.at(0));
  }
  ms::job_state state(const std::string& id) {
    auto s = ms::decode_states(ex->query(ms::state_of(id)));
    REQUIRE(s.size() == 1);
    return s[0];
  }
};

bool skip_without_pg() {
  if (!testing::test_pg_url().empty())
    return false;
  WARN("concurrent connections need PostgreSQL: run through ctest -R "
       "unit_tests_postgres");
  return true;
}

db::audit_record event(const std::string& type, const std::string& user) {
  db::audit_record e;
  e.type = type;
  e.user_id = user;
  e.created_at = 1700000000;
  e.metadata = "{}";
  return e;
}

} // namespace

TEST_CASE("claims: a batch leases due jobs to their owner, once, until the "
          "lease runs out",
          "[claims]") {
  claims_db d;
  for (int i = 0; i < 5; ++i)
    d.queue_mail("job" + std::to_string(i), 1000);
  auto first = d.claim(*d.ex, 1000, 30, "node-a", 3);
  CHECK(first.size() == 3);
  CHECK(first.at(0).lease_until == 1030);
  auto rest = d.claim(*d.ex, 1000, 300, "node-b", 100);
  CHECK(rest.size() == 2);
  for (const auto& j : first)
    CHECK(d.ids(rest).count(j.id) == 0);
  CHECK(d.state(first.at(0).id).lease_owner == "node-a");
  // Leased: nobody takes them before the lease ran out.
  CHECK(d.claim(*d.ex, 1030, 30, "node-b", 100).empty());
  // node-a was killed: after its lease, node-b takes its jobs over...
  auto taken = d.claim(*d.ex, 1031, 30, "node-b", 100);
  CHECK(d.ids(taken) == d.ids(first));
  CHECK(d.state(first.at(0).id).lease_owner == "node-b");
  CHECK(d.state(first.at(0).id).attempts == 2);
  // ...and whatever node-a would still write about them changes nothing.
  auto id = first.at(0).id;
  auto late = d.ex->run(db::unit{
      {ms::release(id, "node-a"), ms::reschedule(id, "node-a", "late", 5000)}});
  REQUIRE(late.ok);
  CHECK(late.results.at(0).changes == 0);
  CHECK(late.results.at(1).changes == 0);
  CHECK(d.state(id).status == "sending");
  // The holder may hand it back.
  auto back = d.ex->run(db::unit{{ms::release(id, "node-b")}});
  REQUIRE(back.ok);
  CHECK(back.results.at(0).changes == 1);
  CHECK(d.state(id).status == "queued");
}

TEST_CASE("claims: a claim that leaves lapsed leases alone takes only "
          "queued jobs",
          "[claims]") {
  claims_db d;
  d.queue_mail("sent-by-a", 1000);
  REQUIRE(d.claim(*d.ex, 1000, 30, "node-a", 10).size() == 1);
  d.queue_mail("fresh", 1040);
  // After node-a's lease ran out (the database was away while node-a's
  // write that it sent the mail waits for its retry): only the queued job.
  auto settling = d.claim(*d.ex, 1040, 30, "node-b", 10, false);
  CHECK(d.ids(settling) == std::set<std::string>{"fresh"});
  CHECK(d.state("sent-by-a").lease_owner == "node-a");
  CHECK(d.state("sent-by-a").attempts == 1);
  // Later the lapsed lease is taken over as before.
  auto later = d.claim(*d.ex, 1045, 30, "node-b", 10);
  CHECK(d.ids(later) == std::set<std::string>{"sent-by-a"});
  CHECK(d.state("sent-by-a").lease_owner == "node-b");
}

TEST_CASE("claims: two nodes claiming at once take disjoint jobs without "
          "waiting for each other (pg)",
          "[claims][pg]") {
  if (skip_without_pg())
    return;
  claims_db d;
  for (int i = 0; i < 6; ++i)
    d.queue_mail("job" + std::to_string(i), 1000);
  auto b = d.second();
  // Node A's claim is in an open group transaction: its rows stay locked
  // until the group commits. Node B skips them instead of waiting (a wait
  // would end in B's lock_timeout, a "busy" failure) or claiming them too.
  d.ex->begin();
  auto a_jobs = d.claim(*d.ex, 1000, 30, "node-a", 4);
  CHECK(a_jobs.size() == 4);
  auto b_jobs = d.claim(*b, 1000, 30, "node-b", 100);
  CHECK(b_jobs.size() == 2);
  d.ex->commit();
  std::set<std::string> all = d.ids(a_jobs);
  for (const auto& j : b_jobs)
    CHECK(all.insert(j.id).second);
  CHECK(all.size() == 6);
  CHECK(d.claim(*b, 1000, 30, "node-b", 100).empty());
}

TEST_CASE("claims: webhook deliveries are leased the same way", "[claims]") {
  claims_db d;
  REQUIRE(d.ex
              ->run(db::unit{
                  {ws::upsert_config_endpoint("http://127.0.0.1:9/x", "sealed",
                                              "[\"*\"]", 1000),
                   ws::insert_delivery("msg_1", "config", "t", "{}", 1000, 0),
                   ws::insert_delivery("msg_2", "config", "t", "{}", 1000, 0)}})
              .ok);
  auto claim = [&](std::int64_t now, const std::string& owner) {
    auto r = d.ex->run(
        db::unit{{ws::claim_due(d.engine(), now, now + 30, owner, {}, 20)}});
    REQUIRE(r.ok);
    return ws::decode_claimed(r.results.at(0));
  };
  auto a = claim(1000, "node-a");
  REQUIRE(a.size() == 2);
  CHECK(a.at(0).lease_until == 1030);
  CHECK(claim(1030, "node-b").empty());
  // Another node's late outcome or hand-back does not touch node-b's lease.
  REQUIRE(claim(1031, "node-b").size() == 2);
  auto late = d.ex->run(
      db::unit{{ws::reschedule("msg_1", "node-a", 500, "HTTP 500", 2000),
                ws::park("msg_2", "node-a", 1031)}});
  REQUIRE(late.ok);
  CHECK(late.results.at(0).changes == 0);
  CHECK(late.results.at(1).changes == 0);
  CHECK(claim(1031, "node-c").empty());
}

TEST_CASE("claims: the audit cursor moves once, and only from where it was",
          "[claims]") {
  claims_db d;
  auto start = ws::decode_cursor(d.ex->query(ws::cursor()));
  for (int i = 0; i < 3; ++i)
    REQUIRE(d.ex->run(db::unit{{db::audit_store::insert(
                          event("user.created", "u" + std::to_string(i)))}})
                .ok);
  auto rows = ws::decode_audit_rows(
      d.ex->query(ws::audit_after(d.engine(), start, 500)));
  REQUIRE(rows.size() == 3);
  CHECK(rows.at(0).type == "user.created");
  CHECK(rows.at(0).user_id == "u0");
  CHECK(rows.at(2).user_id == "u2");
  ws::audit_cursor to{rows.back().tx, rows.back().id};
  if (d.engine() == db::backend::sqlite) {
    // The rows read are still there (not rolled back with their group).
    CHECK(d.ex->run(db::unit{{ws::audit_rows_still(start, to, 3)}}).ok);
    auto gone = d.ex->run(db::unit{{ws::audit_rows_still(start, to, 4)}});
    CHECK_FALSE(gone.ok);
    CHECK(gone.fail_code == "audit_changed");
  }
  // Two nodes derived the same rows: the first unit moves the cursor, the
  // second fails as a whole (its deliveries are not inserted).
  CHECK(d.ex->run(db::unit{{ws::advance_cursor(start, to)}}).ok);
  auto again = d.ex->run(db::unit{{ws::advance_cursor(start, to)}});
  CHECK_FALSE(again.ok);
  CHECK(again.fail_code == "cursor_moved");
  CHECK(ws::decode_audit_rows(d.ex->query(ws::audit_after(d.engine(), to, 500)))
            .empty());
  // One delivery per endpoint and audit row, whatever happens.
  REQUIRE(d.ex->run(db::unit{{ws::upsert_config_endpoint(
                        "http://127.0.0.1:9/x", "sealed", "[\"*\"]", 1000)}})
              .ok);
  CHECK(d.ex->run(db::unit{{ws::insert_delivery("msg_a", "config", "t", "{}",
                                                1000, rows[0].id)}})
            .ok);
  auto dup = d.ex->run(db::unit{
      {ws::insert_delivery("msg_b", "config", "t", "{}", 1000, rows[0].id)}});
  CHECK_FALSE(dup.ok);
  CHECK(dup.fail_code == "constraint");
}

TEST_CASE("claims: a row committed after a later one is not skipped by the "
          "cursor (pg)",
          "[claims][pg]") {
  if (skip_without_pg())
    return;
  claims_db d;
  auto start = ws::decode_cursor(d.ex->query(ws::cursor()));
  auto a = d.second();
  auto b = d.second();
  // Node A takes its identity value first but commits last.
  a->begin();
  REQUIRE(
      a->run(db::unit{{db::audit_store::insert(event("a.first", "a"))}}).ok);
  REQUIRE(
      b->run(db::unit{{db::audit_store::insert(event("b.second", "b"))}}).ok);
  // While A is open, B's row (the larger id) is not handed out: a cursor
  // moved past it would never come back for A's smaller id.
  CHECK(ws::decode_audit_rows(
            d.ex->query(ws::audit_after(d.engine(), start, 500)))
            .empty());
  a->commit();
  auto rows = ws::decode_audit_rows(
      d.ex->query(ws::audit_after(d.engine(), start, 500)));
  REQUIRE(rows.size() == 2);
  CHECK(rows.at(0).type == "a.first");
  CHECK(rows.at(1).type == "b.second");
  CHECK(rows.at(0).id < rows.at(1).id);
}

namespace {

/// A mailed flow to `email` (budget key = the address) at `now`.
db::statement mailed_flow(const std::string& id, const std::string& email,
                          std::int64_t now) {
  db::flows_store::new_flow f;
  f.id = id;
  f.email = email;
  f.flow_secret_hash = "S-" + id;
  f.link_hash = "L-" + id;
  f.code_hash = "C-" + id;
  f.locale = "en";
  f.status = "pending";
  f.mailed = true;
  f.created_at = now;
  f.expires_at = now + 600;
  f.match_number = 42;
  f.match_choices = "17,42,63";
  f.budget_key = email;
  return db::flows_store::insert_flow(f);
}

/// A unit as email/start writes it: the budget guard, then the flow.
db::unit guarded_start(db::backend engine, const std::string& id,
                       const std::string& email, std::int64_t now,
                       std::int64_t cap, std::int64_t min_interval) {
  db::unit u;
  u.statements = db::flows_store::send_budget_guard(engine, email, now - 3600,
                                                    cap, now - min_interval);
  u.statements.push_back(mailed_flow(id, email, now));
  return u;
}

} // namespace

TEST_CASE("send caps: the guard in the write refuses a send over the "
          "mailbox's budget, whatever was read before",
          "[claims][caps]") {
  claims_db d;
  auto e = d.engine();
  const std::string who = "cap@example.org";
  // Hourly cap 2: two sends, the third unit fails as a whole.
  CHECK(d.ex->run(guarded_start(e, "f1", who, 10000, 2, 0)).ok);
  CHECK(d.ex->run(guarded_start(e, "f2", who, 10001, 2, 0)).ok);
  auto third = d.ex->run(guarded_start(e, "f3", who, 10002, 2, 0));
  CHECK_FALSE(third.ok);
  CHECK(third.fail_code == "send_cap");
  // An hour later the budget is back.
  CHECK(d.ex->run(guarded_start(e, "f4", who, 10001 + 3600, 2, 0)).ok);
  // Minimum interval 60 s: a send 30 s after the last one is refused.
  auto soon = d.ex->run(guarded_start(e, "f5", who, 10001 + 3630, 9, 60));
  CHECK_FALSE(soon.ok);
  CHECK(soon.fail_code == "send_cap");
  CHECK(d.ex->run(guarded_start(e, "f6", who, 10001 + 3661, 9, 60)).ok);
  // Other mailboxes have their own budgets.
  CHECK(d.ex->run(guarded_start(e, "f7", "other@example.org", 10002, 2, 0)).ok);
}

TEST_CASE("send caps: two nodes writing a send to one mailbox at once: one "
          "of them is over budget (pg)",
          "[claims][caps][pg]") {
  if (skip_without_pg())
    return;
  claims_db d;
  auto b = d.second();
  const std::string who = "race@example.org";
  // Node A's unit is in its open group; node B's, for the same mailbox,
  // does not wait for it and does not send past it.
  d.ex->begin();
  REQUIRE(d.ex->run(guarded_start(d.engine(), "fa", who, 20000, 5, 0)).ok);
  auto at_once = b->run(guarded_start(d.engine(), "fb", who, 20000, 5, 0));
  CHECK_FALSE(at_once.ok);
  CHECK(at_once.fail_code == "send_cap");
  // Another mailbox is not held up.
  CHECK(b->run(guarded_start(d.engine(), "fc", "else@example.org", 20000, 5, 0))
            .ok);
  d.ex->commit();
  // Once A committed, B counts A's send: with cap 2, one more, then none.
  CHECK(b->run(guarded_start(d.engine(), "fd", who, 20001, 2, 0)).ok);
  auto over = b->run(guarded_start(d.engine(), "fe", who, 20002, 2, 0));
  CHECK_FALSE(over.ok);
  CHECK(over.fail_code == "send_cap");
}
