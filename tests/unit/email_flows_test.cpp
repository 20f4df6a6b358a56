// The email sign-in store (db/flows_store, the users sign-up) on a real
// SQLite file, and the pure decisions of the email flows
// (actors/email_flows).
#include <catch2/catch.hpp>

#include <filesystem>

#include "actors/email_flows.hpp"
#include "db/flows_store.hpp"
#include "db/lockout_store.hpp"
#include "db/sqlite_executor.hpp"
#include "test_store.hpp"
#include "db/users_store.hpp"

using namespace authsvc;
namespace fs = db::flows_store;

namespace {

struct flow_db {
  std::filesystem::path dir;
  testing::store_scope scope;
  std::unique_ptr<db::executor> ex;
  flow_db() {
    dir = std::filesystem::temp_directory_path()
          / ("pa-flows-" + std::to_string(std::rand()));
    ex = scope.open_migrated((dir / "auth.db").string());
  }
  ~flow_db() {
    ex.reset();
    std::filesystem::remove_all(dir);
  }
  /// A pending flow for `email`, link hash "L-<id>", match number 42.
  void start(const std::string& id, const std::string& email,
             std::int64_t now) {
    fs::new_flow f;
    f.id = id;
    f.email = email;
    f.flow_secret_hash = "S-" + id;
    f.link_hash = "L-" + id;
    f.code_hash = "C-" + id;
    f.locale = "en";
    f.ip = "192.0.2.7";
    f.user_agent = "test agent";
    f.status = "pending";
    f.mailed = true;
    f.created_at = now;
    f.expires_at = now + 600;
    f.match_number = 42;
    f.match_choices = "17,42,63";
    f.budget_key = email;
    REQUIRE(ex->run(db::unit{{fs::insert_flow(f)}}).ok);
  }
};

} // namespace

TEST_CASE("a link signs its holder up once, and only once", "[email][store]") {
  flow_db d;
  d.start("f1", "new@example.org", 1000);
  auto facts = fs::decode_start_facts(
      d.ex->query(fs::read_start_facts("new@example.org", 0, "new@example.org")));
  CHECK_FALSE(facts.known);
  CHECK(facts.sent_last_hour == 1);
  CHECK(facts.last_sent == 1000);
  auto view = fs::decode_link_view(d.ex->query(fs::pending_by_link("L-f1", 1001)));
  REQUIRE(view);
  CHECK(view->ip == "192.0.2.7");
  CHECK(view->match_choices == "17,42,63");
  db::unit u;
  u.statements.push_back(fs::collect_by_link("L-f1", 1001, "invalid_link"));
  auto user_index = db::users_store::append_sign_up(
      u, db::value::ref(0, "email"), "u-new", 1001, "invalid_link");
  auto r = d.ex->run(u);
  REQUIRE(r.ok);
  auto user = db::users_store::decode_user(r.results[user_index]);
  CHECK(user.id == "u-new");
  CHECK(user.email == "new@example.org");
  // The second click finds nothing: the unit fails with the link's code.
  auto again = d.ex->run(u);
  CHECK_FALSE(again.ok);
  CHECK(again.fail_code == "invalid_link");
  CHECK_FALSE(fs::decode_link_view(d.ex->query(fs::pending_by_link("L-f1", 1001))));
  auto found = db::users_store::decode_found_user(
      d.ex->query(db::users_store::by_email("new@example.org")));
  REQUIRE(found);
  CHECK(found->id == "u-new");
}

TEST_CASE("a wrong number burns the hand-over, the right one approves it",
          "[email][store]") {
  flow_db d;
  d.start("f1", "a@example.org", 1000);
  d.start("f2", "a@example.org", 1000);
  auto wrong = d.ex->run(
      db::unit{{fs::approve_by_link("L-f1", 1001, 17, "invalid_link")}});
  REQUIRE(wrong.ok);
  CHECK(fs::decode_consumed(wrong.results[0]).status == "dead");
  auto right = d.ex->run(
      db::unit{{fs::approve_by_link("L-f2", 1001, 42, "invalid_link")}});
  REQUIRE(right.ok);
  CHECK(fs::decode_consumed(right.results[0]).status == "approved");
  // The starter's poll: approved, then collected once.
  auto view = fs::decode_exchange_view(d.ex->query(fs::read_for_exchange("f2")));
  auto state = email_flows_detail::check_exchange(view, "S-f2", 1002);
  REQUIRE(state);
  CHECK_FALSE(*state);
  CHECK(email_flows_detail::check_exchange(view, "S-xx", 1002)
            .err()
            .is(email_errc::flow_expired));
  CHECK(email_flows_detail::check_exchange(view, "S-f2", 1600)
            .err()
            .is(email_errc::flow_expired));
  auto u = email_flows_detail::exchange_unit("f2", "S-f2", 1002);
  CHECK(d.ex->run(u).ok);
  CHECK_FALSE(d.ex->run(u).ok);
}

TEST_CASE("code attempts are counted before the compare, up to the cap",
          "[email][store]") {
  flow_db d;
  d.start("f1", "a@example.org", 1000);
  for (int i = 1; i <= 3; ++i) {
    auto r = d.ex->run(db::unit{{fs::count_code_attempt(
        "f1", 1001, 3, "192.0.2.1", "email_code", "flow_expired")}});
    REQUIRE(r.ok);
    auto a = fs::decode_code_attempt(r.results[0]);
    CHECK(a.attempts == i);
    CHECK(a.code_hash == "C-f1");
    CHECK(a.user_id.empty());
    CHECK(a.locked_until == 0);
  }
  auto over = d.ex->run(db::unit{{fs::count_code_attempt(
      "f1", 1001, 3, "192.0.2.1", "email_code", "flow_expired")}});
  CHECK_FALSE(over.ok);
  CHECK(over.fail_code == "flow_expired");
  requester who;
  CHECK(email_flows_detail::unit_error(who, over, email_errc::invalid_code)
            .is(email_errc::flow_expired));
  db::unit_result constraint{false, 0, "constraint", {}};
  std::string noted;
  who.note = [&](const std::string& k, const std::string& v) {
    noted = k + "=" + v;
  };
  CHECK(email_flows_detail::unit_error(who, constraint, email_errc::flow_expired)
            .is(email_errc::flow_expired));
  CHECK(noted == "db_fail=constraint");
  CHECK(email_flows_detail::link_unit_error(over).is(email_errc::invalid_link));
}

TEST_CASE("an exchange code is taken once, before it expires",
          "[email][store]") {
  flow_db d;
  d.ex->exec("INSERT INTO users(id, email, created_at, updated_at) "
             "VALUES ('u1', 'a@example.org', 0, 0)");
  d.ex->exec("INSERT INTO sessions(id, user_id, amr, created_at, last_seen_at, "
             "expires_at, absolute_expires_at) "
             "VALUES ('s1', 'u1', '[]', 0, 0, 9999, 9999)");
  REQUIRE(d.ex->run(db::unit{{fs::insert_exchange_code("H1", "s1", "sealed",
                                                       1000, 1060)}})
              .ok);
  auto late
      = d.ex->run(db::unit{{fs::take_exchange_code("H1", 1060, "invalid_exchange_code")}});
  CHECK_FALSE(late.ok);
  CHECK(late.fail_code == "invalid_exchange_code");
  auto r = d.ex->run(db::unit{{fs::take_exchange_code("H1", 1001, "x")}});
  REQUIRE(r.ok);
  CHECK(fs::decode_exchange_payload(r.results[0]) == "sealed");
  CHECK_FALSE(d.ex->run(db::unit{{fs::take_exchange_code("H1", 1001, "x")}}).ok);
}

TEST_CASE("the timing pad writes like a recorded failure", "[email][lockout]") {
  // Same number of statements, the same kinds: an upsert that changes a
  // row, then a conditional update that returns rows only when it locks.
  db::unit failure;
  db::lockout_store::append_failure(failure, db::value::text("u1"),
                                    "email_code", "192.0.2.1", 1000,
                                    auth::lockout_policy{});
  auto pad = db::lockout_store::timing_pad(1000);
  REQUIRE(pad.statements.size() == failure.statements.size());
  for (std::size_t i = 0; i < pad.statements.size(); ++i)
    CHECK(pad.statements[i].sql.substr(0, 6)
          == failure.statements[i].sql.substr(0, 6));
  flow_db d;
  auto r = d.ex->run(pad);
  REQUIRE(r.ok);
  CHECK(r.results[0].changes == 1);
  CHECK(r.results[1].empty());
}
