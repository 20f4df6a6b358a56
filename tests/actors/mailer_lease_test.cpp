// The mailer's lease: a job another mailer claimed and never finished (it
// stopped mid-send) stays with that mailer until its lease runs out on the
// clock, and is sent once it has. Real parts: the SQLite file, the embedded
// templates and the outbox transport writing into the test folder; time is
// the manual clock, and each scan is awaited through its
// email_queue_polls_total sample.
#include "actor_fixture.hpp"

#include "actors/mail_job.hpp"
#include "actors/mailer_actor.hpp"
#include "actors/services.hpp"
#include "db/mail_store.hpp"
#include "mail/template_set.hpp"

namespace {

using namespace authsvc;
namespace store = db::mail_store;

constexpr const char* polls = "email_queue_polls_total";

store::job_state state_of(test::actor_fixture& fx, const std::string& id) {
  auto states = store::decode_states(fx.query(store::state_of(id)));
  REQUIRE(states.size() == 1);
  return states.front();
}

} // namespace

TEST_CASE("a leased job is sent again once its lease expired on the clock",
          "[mailer][lease]") {
  test::actor_fixture fx;
  auto db = fx.db();
  const auto lease = fx.cfg->mail.lease_timeout;
  auto t0 = fx.clock->unix_seconds();

  // Queue a sign-in mail the way the flows do.
  services svc;
  svc.cfg = fx.cfg;
  svc.keys = fx.keys;
  auto insert = mail_job_insert(
      svc,
      mail_request{"user@example.com", "sign_in", "en",
                   {{"link", "https://auth.example/v1/email/verify?t=x"},
                    {"code", "123456"},
                    {"lifetime_minutes", 15},
                    {"ip", "192.0.2.1"},
                    {"device", "a test"},
                    {"display_name", "User"}}},
      t0);
  REQUIRE(fx.write(insert).ok);
  auto id = insert.params.at(0).s;

  // A mailer claims it and stops before the send: the job is "sending",
  // leased until t0 + lease_timeout.
  auto claim = fx.write(store::claim_due(db::backend::sqlite, t0, t0 + lease,
                                         "a-stopped-mailer", 10));
  REQUIRE(claim.ok);
  REQUIRE(store::decode_claimed(claim.results.at(0)).size() == 1);

  auto templates = mail::template_set::load_embedded();
  REQUIRE(templates);
  mailer_options opts{
      fx.cfg, fx.keys,
      std::make_shared<const mail::template_set>(std::move(*templates)),
      fx.clock};
  auto mailer = fx.track(fx.sys.spawn<caf::detached>(
      mailer_impl, opts, db, metrics_actor{fx.recorder()}));
  auto scan = [&](std::int32_t n) {
    if (n > 1)
      caf::anon_send(mailer, atom::wake_atom_v);
    fx.await_sample(polls, n);
  };

  // Start-up scan: the lease is still running, the job is not touched.
  scan(1);
  auto st = state_of(fx, id);
  CHECK(st.status == "sending");
  CHECK(st.attempts == 1);
  CHECK(st.lease_until == t0 + lease);
  CHECK(test::file_count(fx.cfg->mail.outbox_dir) == 0);

  // At the last second of the lease it still belongs to the first mailer.
  fx.clock->advance(std::chrono::seconds(lease));
  scan(2);
  CHECK(state_of(fx, id).status == "sending");
  CHECK(test::file_count(fx.cfg->mail.outbox_dir) == 0);

  // One second later the lease has expired: this mailer claims and sends it.
  fx.clock->advance(std::chrono::seconds(1));
  scan(3);
  st = state_of(fx, id);
  INFO("last_error: " << st.last_error);
  CHECK(st.status == "sent");
  CHECK(st.attempts == 2);
  CHECK(st.lease_until == 0);
  CHECK(test::file_count(fx.cfg->mail.outbox_dir) == 1);
  CHECK(fx.sample_count("emails_sent_total") == 1);

  // Sent is final: a later scan, even much later, does not send it again.
  fx.clock->advance(std::chrono::seconds(10 * lease));
  scan(4);
  CHECK(state_of(fx, id).status == "sent");
  CHECK(fx.sample_count("emails_sent_total") == 1);
}
