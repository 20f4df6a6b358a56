// The DB actor's group commit: units that wait in its mailbox together run
// in mailbox order inside one transaction that commits once, and a unit that
// fails rolls back alone while the others of its group commit.
//
// To have units queue together without timing, the test holds the database's
// write lock on a second connection: the DB actor stalls in the first unit's
// BEGIN (SQLite's busy handler) while the test sends the others, and its
// commit message can only queue behind them.
#include "actor_fixture.hpp"

#include "db/sqlite_executor.hpp"
#include "db/webhooks_store.hpp"

namespace {

using namespace authsvc;
namespace store = db::webhooks_store;

constexpr const char* commits = "db_query_duration_seconds{commit}";

/// A unit that queues delivery `id` and then reads every delivery of the
/// endpoint, so its answer shows which units ran before it.
db::unit queue_and_list(const std::string& id, std::int64_t now) {
  db::unit u;
  u.statements.push_back(
      store::insert_delivery(id, "config", "user.created", "{}", now));
  u.statements.push_back(store::deliveries_to("config"));
  return u;
}

std::vector<std::string> ids(const db::rowset& rs) {
  std::vector<std::string> out;
  for (const auto& d : store::decode_deliveries(rs))
    out.push_back(d.id);
  return out;
}

} // namespace

TEST_CASE("units queued together commit once, in mailbox order, and a "
          "failing unit rolls back alone",
          "[db_actor][group_commit]") {
  test::actor_fixture fx;
  auto db = fx.db();
  auto now = fx.clock->unix_seconds();
  REQUIRE(fx.write(store::upsert_config_endpoint("http://127.0.0.1:9/", "k",
                                                 "[\"*\"]", now))
              .ok);
  auto commits_before = fx.sample_count(commits);
  REQUIRE(commits_before >= 1);

  // Another connection takes the write lock: the DB actor's next BEGIN waits.
  db::sqlite_executor holder((fx.dir.path() / "auth.db").string(), "normal",
                             1000);
  holder.begin();

  // The third unit queues its delivery, then fails a must-change-one-row
  // statement: its delivery must not survive, the others' must.
  auto failing = queue_and_list("d3", now);
  auto gone = store::park("no-such-delivery", "any-owner", now);
  gone.min_rows = 1;
  gone.max_rows = 1;
  gone.fail_code = "gone";
  failing.statements.insert(failing.statements.begin() + 1, gone);

  auto t = test::answer_timeout;
  auto a = fx.self->request(db, t, atom::write_atom_v, queue_and_list("d1", now));
  auto b = fx.self->request(db, t, atom::write_atom_v, queue_and_list("d2", now));
  auto c = fx.self->request(db, t, atom::write_atom_v, failing);
  auto d = fx.self->request(db, t, atom::write_atom_v, queue_and_list("d4", now));
  holder.rollback();

  std::vector<db::unit_result> results(4);
  auto take = [&](auto& handle, std::size_t i) {
    handle.receive([&](db::unit_result& r) { results[i] = std::move(r); },
                   [&](caf::error& e) { FAIL(caf::to_string(e)); });
  };
  take(a, 0);
  take(b, 1);
  take(c, 2);
  take(d, 3);

  // Mailbox order: each unit sees the deliveries of the units before it.
  REQUIRE(results[0].ok);
  CHECK(ids(results[0].results.at(1)) == std::vector<std::string>{"d1"});
  REQUIRE(results[1].ok);
  CHECK(ids(results[1].results.at(1))
        == std::vector<std::string>{"d1", "d2"});
  // The failing unit reports its statement and code; its write is undone.
  CHECK_FALSE(results[2].ok);
  CHECK(results[2].failed_index == 1);
  CHECK(results[2].fail_code == "gone");
  REQUIRE(results[3].ok);
  CHECK(ids(results[3].results.at(1))
        == std::vector<std::string>{"d1", "d2", "d4"});

  // One commit for the four units (the commit sample precedes the answers).
  CHECK(fx.sample_count(commits) == commits_before + 1);

  // And it is durable: a fresh connection reads what the group wrote.
  db::sqlite_executor reader((fx.dir.path() / "auth.db").string(), "normal",
                             1000);
  CHECK(ids(reader.query(store::deliveries_to("config")))
        == std::vector<std::string>{"d1", "d2", "d4"});
}

TEST_CASE("a unit sent after the group's answers commits on its own",
          "[db_actor][group_commit]") {
  test::actor_fixture fx;
  fx.db();
  auto now = fx.clock->unix_seconds();
  REQUIRE(fx.write(store::upsert_config_endpoint("http://127.0.0.1:9/", "k",
                                                 "[\"*\"]", now))
              .ok);
  auto before = fx.sample_count(commits);
  REQUIRE(fx.write(queue_and_list("e1", now)).ok);
  REQUIRE(fx.write(queue_and_list("e2", now)).ok);
  // Each write was answered before the next was sent: two groups.
  CHECK(fx.sample_count(commits) == before + 2);
}
