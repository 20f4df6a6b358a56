#include <catch2/catch.hpp>

#include <filesystem>

#include "actors/ip_filter_actor.hpp"
#include "actors/rate_limiter_actor.hpp"
#include "db/sqlite_executor.hpp"
#include "test_store.hpp"
#include "front/lockout.hpp"

using namespace authsvc;
using db::value;

namespace {

struct lock_db {
  std::filesystem::path dir;
  testing::store_scope scope;
  std::unique_ptr<db::executor> ex;
  lock_db() {
    dir = std::filesystem::temp_directory_path()
          / ("pa-lock-" + std::to_string(std::rand()));
    ex = scope.open_migrated((dir / "auth.db").string());
    ex->exec("INSERT INTO users(id, email, created_at, updated_at) "
             "VALUES ('u1', 'a@example.org', 0, 0)");
  }
  ~lock_db() {
    ex.reset();
    std::filesystem::remove_all(dir);
  }
  /// Records one failure; true when it locked.
  bool fail(std::int64_t now, const auth::lockout_policy& p,
            const std::string& method = "totp",
            const std::string& source = "192.0.2.1") {
    db::unit u;
    auto i
        = lockout::append_failure(u, value::text("u1"), method, source, now, p);
    auto r = ex->run(u);
    REQUIRE(r.ok);
    return !r.results[i].empty();
  }
  std::int64_t locked_until(const std::string& method = "totp",
                            const std::string& source = "192.0.2.1") {
    auto rs = ex->query(db::stmt(
        "SELECT " + lockout::locked_until_sql("'u1'", method, "?") + " AS l",
        {value::text(source)}));
    return rs.at(0, "l").i;
  }
};

} // namespace

TEST_CASE("the threshold-th consecutive failure locks, and locks grow",
          "[lockout]") {
  lock_db d;
  auth::lockout_policy p;
  p.threshold = 3;
  p.base_seconds = 100;
  for (int i = 0; i < 2; ++i)
    CHECK_FALSE(d.fail(1000, p));
  CHECK(d.fail(1000, p));
  CHECK(d.locked_until() == 1100);
  SECTION("failures while locked change nothing") {
    for (int i = 0; i < 5; ++i)
      CHECK_FALSE(d.fail(1050, p));
    CHECK(d.locked_until() == 1100);
  }
  SECTION("the next lock lasts twice as long") {
    for (int i = 0; i < 2; ++i)
      CHECK_FALSE(d.fail(1200, p));
    CHECK(d.fail(1200, p));
    CHECK(d.locked_until() == 1400);
  }
  SECTION("methods are counted apart") {
    CHECK(d.locked_until("email_code") == 0);
    CHECK_FALSE(d.fail(1050, p, "email_code"));
  }
  SECTION("sources are counted apart: another address is not locked") {
    CHECK(d.locked_until("totp", "198.51.100.7") == 0);
    CHECK_FALSE(d.fail(1050, p, "totp", "198.51.100.7"));
    CHECK_FALSE(d.fail(1050, p, "totp", "198.51.100.7"));
    CHECK(d.locked_until("totp", "198.51.100.7") == 0);
    // A success there clears only that source.
    db::unit u;
    u.statements.push_back(
        lockout::reset(value::text("u1"), "totp", "198.51.100.7"));
    CHECK(d.ex->run(u).ok);
    CHECK(d.locked_until() == 1100);
    db::unit all;
    all.statements.push_back(
        lockout::reset_all_sources(value::text("u1"), "totp"));
    CHECK(d.ex->run(all).ok);
    CHECK(d.locked_until() == 0);
  }
  SECTION("a success or an admin unlock clears everything") {
    db::unit u;
    u.statements.push_back(
        lockout::reset(value::text("u1"), "totp", "192.0.2.1"));
    CHECK(d.ex->run(u).ok);
    CHECK(d.locked_until() == 0);
    d.fail(1200, p, "webauthn");
    CHECK(d.ex->run(lockout::unlock_unit("u1")).ok);
    CHECK(d.ex->query(db::stmt("SELECT COUNT(*) AS n FROM failed_attempts"))
              .at(0, "n")
              .i
          == 0);
  }
}

TEST_CASE("the policy comes from [auth]", "[lockout]") {
  config::settings s;
  s.auth.lockout_threshold = 7;
  s.auth.lockout_duration = 200000;
  auto p = lockout::policy_from(s);
  CHECK(p.threshold == 7);
  CHECK(p.base_seconds == 200000);
  CHECK(p.cap_seconds == 200000);
}

TEST_CASE("route classes map to limit classes", "[rate-limit]") {
  CHECK(per_ip_class("verify") == auth::limit_class::verify_per_ip);
  CHECK(per_ip_class("email_send") == auth::limit_class::email_send_per_ip);
  CHECK(per_ip_class("totp") == auth::limit_class::totp_per_ip);
  CHECK(per_ip_class("webauthn") == auth::limit_class::webauthn_per_ip);
  CHECK(per_ip_class("refresh") == auth::limit_class::refresh_per_ip);
  CHECK_FALSE(per_ip_class(""));
  CHECK(per_identifier_class("email_send")
        == auth::limit_class::email_send_per_address);
  CHECK_FALSE(per_identifier_class("verify"));
}

TEST_CASE("the limiter state decides per class, identifier and IP",
          "[rate-limit]") {
  config::settings s;
  s.rate_limit.policies = {{"verify_per_ip", "2/60"},
                           {"global_per_ip", "4/60"},
                           {"email_send_per_address", "1/3600"},
                           {"nonsense", "1/1"}};
  std::vector<std::string> problems;
  rate_limiter_state st;
  st.limits = std::make_unique<auth::limiter_set>(limiter_config(s, &problems));
  st.audit_gate
      = std::make_unique<auth::rate_limiter>(auth::rate_policy{1, 60});
  REQUIRE(problems.size() == 1);
  auth::micros t = 1'000'000;
  auto v = st.decide({"verify", "1.2.3.4", ""}, t);
  CHECK(v.allowed);
  CHECK(v.limit == 2);
  CHECK(v.remaining == 1);
  CHECK(st.decide({"verify", "1.2.3.4", ""}, t).remaining == 0);
  v = st.decide({"verify", "1.2.3.4", ""}, t);
  CHECK_FALSE(v.allowed);
  CHECK(v.type == "verify_per_ip");
  CHECK(v.retry_after >= 1);
  CHECK(v.audit);
  CHECK_FALSE(st.decide({"verify", "1.2.3.4", ""}, t).audit); // once a minute
  // Unclassed routes: only the global ceiling, no headers.
  v = st.decide({"", "1.2.3.4", ""}, t);
  CHECK(v.allowed);
  CHECK(v.limit == 0);
  CHECK(st.decide({"", "1.2.3.4", ""}, t).allowed);
  v = st.decide({"", "1.2.3.4", ""}, t);
  CHECK_FALSE(v.allowed);
  CHECK(v.type == "global_per_ip");
  CHECK(st.decide({"verify", "5.6.7.8", ""}, t).allowed);
  // Per identifier.
  CHECK(st.decide({"email_send", "", "a@example.org"}, t).allowed);
  CHECK_FALSE(st.decide({"email_send", "", "a@example.org"}, t).allowed);
  CHECK(st.decide({"email_send", "", "b@example.org"}, t).allowed);
}

TEST_CASE("table rules merge with config rules", "[ip-filter]") {
  config::settings s;
  s.server.ip_deny = {"10.0.0.0/8"};
  db::rowset rs;
  rs.columns = {"cidr", "action"};
  rs.rows = {{value::text("2001:db8::/32"), value::text("deny")},
             {value::text("192.0.2.0/24"), value::text("allow")},
             {value::text("bogus"), value::text("deny")},
             {value::text("198.51.100.0/24"), value::text("maybe")}};
  std::vector<std::string> skipped;
  auto snap
      = merge_ip_rules(s, db::ip_filters_store::decode_rules(rs), &skipped);
  CHECK(snap.deny == std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32"});
  CHECK(snap.allow == std::vector<std::string>{"192.0.2.0/24"});
  CHECK(skipped.size() == 2);
}

TEST_CASE("an unknown rate-limit class fails at start", "[rate-limit]") {
  config::sources src;
  src.environment = {{"PA_RATE_LIMIT_POLICIES", "verfy_per_ip=3/60"}};
  CHECK_THROWS_AS(config::load(src), config::config_error);
  src.environment = {{"PA_RATE_LIMIT_POLICIES", "verify_per_ip=3/60"}};
  CHECK(config::load(src).rate_limit.policies.at("verify_per_ip") == "3/60");
}
