// The email change (actors/email_change_flow, db/email_change_store) on a
// real SQLite file, with a manual clock: the decision, the request's unit
// and mails, confirmation, the race on the unique address, and the 72 h
// bound of the old address's cancel link.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "actors/email_change_flow.hpp"
#include "auth/encoding.hpp"
#include "auth/secret_box.hpp"
#include "db/flows_store.hpp"
#include "db/mail_store.hpp"
#include "db/sqlite_executor.hpp"
#include "test_store.hpp"
#include "db/users_store.hpp"

using namespace authsvc;
namespace store = db::email_change_store;
namespace d = email_change_detail;

namespace {

const key_ring& keys() {
  static const auto k = key_ring::derive("a master secret for the tests");
  return k;
}

struct change_db {
  std::filesystem::path dir;
  testing::store_scope scope;
  std::unique_ptr<db::executor> ex;
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
  services svc;
  requester who;
  change_db() {
    dir = std::filesystem::temp_directory_path()
          / ("pa-email-change-" + std::to_string(std::rand()));
    ex = scope.open_migrated((dir / "auth.db").string());
    svc.cfg = std::make_shared<config::settings>();
    svc.keys = std::make_shared<key_ring>(keys());
    svc.clock = clock;
    who.ip = "192.0.2.7";
    who.user_agent = "test agent";
    add_user("u1", "ann@example.org");
  }
  ~change_db() {
    ex.reset();
    std::filesystem::remove_all(dir);
  }
  std::int64_t now() const { return clock->unix_seconds(); }
  void add_user(const std::string& id, const std::string& email) {
    db::user_record u;
    u.id = id;
    u.email = email;
    u.created_at = now();
    REQUIRE(ex->run(db::unit{{db::users_store::insert(u, now())}}).ok);
  }
  std::string email_of(const std::string& id) {
    return db::users_store::decode_found_user(
               ex->query(db::users_store::by_id(id)))
        ->email;
  }
  /// Runs a request of u1 for `addr` as the flow does; returns its outcome.
  email_change_outcome request(const std::string& addr) {
    email_change_input in;
    in.user.id = "u1";
    in.user.email = email_of("u1");
    in.session_id = "s-asking";
    in.new_email = addr;
    auto facts
        = store::decode_request_facts(ex->query(d::request_facts(in, now())));
    email_change_outcome out;
    auto u = d::plan_request(svc, who, in, facts, now(), out);
    REQUIRE(ex->run(u).ok);
    return out;
  }
  /// The mails queued so far (claimed, so each is returned once), opened as
  /// the mailer opens them: template -> (to, variables).
  std::multimap<std::string, std::pair<std::string, nlohmann::json>> mails() {
    std::multimap<std::string, std::pair<std::string, nlohmann::json>> out;
    auto jobs
        = db::mail_store::decode_claimed(ex->query(db::mail_store::claim_due(
            ex->kind(), now() + 1, now() + 60, "test", 100)));
    for (const auto& j : jobs) {
      auto plain = auth::secret_box::open(keys().payloads,
                                          auth::to_bytes(j.vars_enc), j.id);
      REQUIRE(plain);
      out.emplace(j.template_name,
                  std::make_pair(j.to_email, nlohmann::json::parse(
                                                 auth::to_string(*plain))));
    }
    return out;
  }
};

std::string token_of(const std::string& link) {
  return link.substr(link.find("token=") + 6);
}

} // namespace

TEST_CASE("a request decides from its one read", "[email_change][flow]") {
  config::settings cfg;
  store::request_facts f;
  f.current_email = "ann@example.org";
  auto decide = [&](const std::string& addr) {
    return d::decide(cfg, f, "u1", addr, 10'000);
  };
  CHECK(decide("new@example.org") == d::request_kind::change);
  CHECK(decide("ann@example.org") == d::request_kind::same_address);
  f.owner_id = "u2";
  CHECK(decide("bob@example.org") == d::request_kind::in_use);
  f.owner_id.clear();
  f.sent_last_hour = cfg.auth.email_hourly_cap;
  CHECK(decide("new@example.org") == d::request_kind::suppressed);
  f.sent_last_hour = 0;
  f.last_sent = 10'000 - cfg.auth.email_min_interval + 1;
  CHECK(decide("new@example.org") == d::request_kind::suppressed);
  f.last_sent = 0;
  f.current_email.clear();
  CHECK(decide("new@example.org") == d::request_kind::gone);
}

TEST_CASE("a free address gets a link and code, the old one a notice; the "
          "link confirms once",
          "[email_change][store]") {
  change_db t;
  auto out = t.request("new@example.org");
  CHECK(out.kind == "change");
  auto mails = t.mails();
  REQUIRE(mails.count("email_change_confirm") == 1);
  REQUIRE(mails.count("email_change_notice") == 1);
  CHECK(mails.count("email_in_use") == 0);
  auto confirm = mails.find("email_change_confirm")->second;
  auto notice = mails.find("email_change_notice")->second;
  CHECK(confirm.first == "new@example.org");
  CHECK(notice.first == "ann@example.org");
  CHECK(notice.second["new_email"] == "new@example.org");
  auto link = token_of(confirm.second["link"].get<std::string>());
  // The link is stored as its hash only.
  CHECK(store::decode_link_view(t.ex->query(store::pending_by_link(
                                    auth::token_hash(link), t.now())))
            ->new_email
        == "new@example.org");
  CHECK_FALSE(store::decode_link_view(
      t.ex->query(store::pending_by_link(link, t.now()))));
  auto u = d::confirm_unit(
      store::confirm_by_link(auth::token_hash(link), t.now(), "invalid_link"),
      t.now());
  auto r = t.ex->run(u);
  REQUIRE(r.ok);
  CHECK(db::users_store::decode_user(r.results.back()).email
        == "new@example.org");
  CHECK(t.email_of("u1") == "new@example.org");
  auto again = t.ex->run(u);
  CHECK_FALSE(again.ok);
  CHECK(again.fail_code == "invalid_link");
}

TEST_CASE("a taken address: the same notice, a mail to its owner, nothing "
          "to confirm",
          "[email_change][store]") {
  change_db t;
  t.add_user("u2", "bob@example.org");
  auto out = t.request("bob@example.org");
  CHECK(out.kind == "in_use");
  auto mails = t.mails();
  CHECK(mails.count("email_change_confirm") == 0);
  REQUIRE(mails.count("email_in_use") == 1);
  CHECK(mails.find("email_in_use")->second.first == "bob@example.org");
  REQUIRE(mails.count("email_change_notice") == 1);
  auto notice = mails.find("email_change_notice")->second.second;
  // The notice has the same fields as for a free address.
  auto free_db = change_db();
  free_db.request("new@example.org");
  auto free_notice = free_db.mails().find("email_change_notice")->second.second;
  for (auto it = free_notice.begin(); it != free_notice.end(); ++it)
    CHECK(notice.contains(it.key()));
  CHECK(notice.size() == free_notice.size());
  // Its code is nobody's: a code attempt counts, and no 6-digit code fits.
  auto a = store::decode_code_attempt(
      t.ex->run(db::unit{{store::count_code_attempt("u1", t.now(), 5, "x")}})
          .results[0]);
  CHECK_FALSE(d::code_matches(t.svc, a.id, "123456", a.code_hash));
  CHECK(t.email_of("u1") == "ann@example.org");
}

TEST_CASE("the address taken between request and confirmation ends in a "
          "constraint failure, not a change",
          "[email_change][store]") {
  change_db t;
  t.request("new@example.org");
  auto link = token_of(t.mails()
                           .find("email_change_confirm")
                           ->second.second["link"]
                           .get<std::string>());
  t.add_user("u3", "new@example.org");
  auto r = t.ex->run(d::confirm_unit(
      store::confirm_by_link(auth::token_hash(link), t.now(), "invalid_link"),
      t.now()));
  CHECK_FALSE(r.ok);
  CHECK(r.fail_code == "conflict");
  CHECK(d::unit_error(t.who, r, email_errc::invalid_link)
            .is(db::store_errc::constraint));
  CHECK(t.email_of("u1") == "ann@example.org");
}

TEST_CASE("the old address may cancel for 72 hours, also after the change, "
          "and only once",
          "[email_change][store]") {
  change_db t;
  t.request("new@example.org");
  auto mails = t.mails();
  auto link = token_of(mails.find("email_change_confirm")
                           ->second.second["link"]
                           .get<std::string>());
  auto cancel = token_of(mails.find("email_change_notice")
                             ->second.second["cancel_link"]
                             .get<std::string>());
  auto asked_at = t.now();
  REQUIRE(t.ex->run(d::confirm_unit(store::confirm_by_link(
                                        auth::token_hash(link), t.now(), "x"),
                                    t.now()))
              .ok);
  REQUIRE(t.email_of("u1") == "new@example.org");
  SECTION("at 72 h the link is dead") {
    t.clock->advance(std::chrono::seconds(d::cancel_window));
    auto r = t.ex->run(d::cancel_unit(cancel, t.now()));
    CHECK_FALSE(r.ok);
    CHECK(r.fail_code == "invalid_link");
    CHECK(t.email_of("u1") == "new@example.org");
  }
  SECTION("a second before, it restores the old address, once") {
    t.clock->advance(std::chrono::seconds(d::cancel_window - 1));
    auto r = t.ex->run(d::cancel_unit(cancel, t.now()));
    REQUIRE(r.ok);
    auto row = store::decode_change_row(r.results[0]);
    CHECK(row.created_at == asked_at);
    CHECK(row.session_id == "s-asking");
    CHECK_FALSE(r.results[1].empty()); // restored
    CHECK(t.email_of("u1") == "ann@example.org");
    auto again = t.ex->run(d::cancel_unit(cancel, t.now()));
    CHECK_FALSE(again.ok);
    CHECK(again.fail_code == "invalid_link");
  }
}

TEST_CASE("a cancel revokes the sessions opened since the request and the "
          "one that asked",
          "[email_change][flow]") {
  store::change_row c;
  c.created_at = 1000;
  c.session_id = "asking";
  auto view = [](std::string id, std::int64_t created) {
    session_view s;
    s.id = std::move(id);
    s.created_at = created;
    return s;
  };
  auto ids
      = d::sessions_to_revoke({view("older", 999), view("asking", 500),
                               view("same-second", 1000), view("later", 5000)},
                              c);
  CHECK(ids == std::vector<std::string>{"asking", "same-second", "later"});
}

TEST_CASE("a newer request replaces a pending one", "[email_change][store]") {
  change_db t;
  t.request("first@example.org");
  auto first = token_of(t.mails()
                            .find("email_change_confirm")
                            ->second.second["link"]
                            .get<std::string>());
  t.request("second@example.org");
  auto r = t.ex->run(d::confirm_unit(
      store::confirm_by_link(auth::token_hash(first), t.now(), "invalid_link"),
      t.now()));
  CHECK_FALSE(r.ok);
  CHECK(t.email_of("u1") == "ann@example.org");
}

TEST_CASE("sign-in mails and email-change mails share one send budget per "
          "mailbox",
          "[email_change][store]") {
  change_db t;
  t.request("new+tag@example.org");
  auto start = db::flows_store::decode_start_facts(
      t.ex->query(db::flows_store::read_start_facts(
          "new@example.org", t.now() - 3600, "new@example.org")));
  CHECK(start.sent_last_hour == 1);
  CHECK(start.last_sent == t.now());
  // A request that sends nothing (the current address) does not count.
  t.request("ann@example.org");
  auto own = db::flows_store::decode_start_facts(
      t.ex->query(db::flows_store::read_start_facts(
          "ann@example.org", t.now() - 3600, "ann@example.org")));
  CHECK(own.sent_last_hour == 0);
  // And the change's own read counts both.
  email_change_input in;
  in.user.id = "u1";
  in.new_email = "new@example.org";
  auto f
      = store::decode_request_facts(t.ex->query(d::request_facts(in, t.now())));
  CHECK(f.sent_last_hour == 1);
  CHECK(f.last_sent == t.now());
}

TEST_CASE("a request planned from a read that the mailbox's budget outran "
          "sends nothing",
          "[email_change][store]") {
  // Two requests for one new mailbox both read before either writes (two
  // fronts, or two nodes): the read said one mail was left, so both plan a
  // mail. The unit's own guard (db::flows_store::send_budget_guard) finds
  // the budget spent and fails the second with "send_cap"; the flow then
  // writes it as suppressed.
  change_db t;
  auto cfg = std::make_shared<config::settings>();
  cfg->auth.email_hourly_cap = 1;
  cfg->auth.email_min_interval = 0;
  t.svc.cfg = cfg;
  email_change_input in;
  in.user.id = "u1";
  in.user.email = t.email_of("u1");
  in.session_id = "s-asking";
  in.new_email = "shared@example.org";
  auto stale
      = store::decode_request_facts(t.ex->query(d::request_facts(in, t.now())));
  email_change_outcome first, second;
  auto u1 = d::plan_request(t.svc, t.who, in, stale, t.now(), first);
  auto u2 = d::plan_request(t.svc, t.who, in, stale, t.now(), second);
  CHECK(second.kind == "change");
  REQUIRE(t.ex->run(u1).ok);
  auto r = t.ex->run(u2);
  CHECK_FALSE(r.ok);
  CHECK(r.fail_code == "send_cap");
  auto mails = t.mails();
  CHECK(mails.count("email_change_confirm") == 1);
  // Planned again from the spent budget, as the flow does: no mail.
  auto spent = stale;
  spent.sent_last_hour = t.svc.cfg->auth.email_hourly_cap;
  email_change_outcome third;
  REQUIRE(
      t.ex->run(d::plan_request(t.svc, t.who, in, spent, t.now(), third)).ok);
  CHECK(third.kind == "suppressed");
  CHECK(t.mails().empty());
}
