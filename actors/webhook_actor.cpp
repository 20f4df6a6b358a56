#include "actors/webhook_actor.hpp"

#include <chrono>
#include <ctime>

#include <curl/curl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include "auth/ids.hpp"
#include "auth/ip_address.hpp"
#include "auth/secret_box.hpp"
#include "auth/url.hpp"
#include "auth/webhook_signature.hpp"
#include "actors/db_timeout.hpp"
#include "actors/lease_owner.hpp"
#include "actors/retention_purge.hpp"
#include "core/log.hpp"
#include "db/webhooks_store.hpp"
#include "mail/retry.hpp"

namespace authsvc {

namespace {

using self_ptr = webhook_actor::stateful_pointer<webhook_state>;
using wall = std::chrono::system_clock;
namespace store = db::webhooks_store;

constexpr int batch_size = 20;
/// Audit rows one derivation pass reads at most.
constexpr int derive_batch = 500;
/// Consecutive failures that open an endpoint's circuit.
constexpr int breaker_threshold = 5;

/// Wall time in unix seconds, from the injected clock.
std::int64_t unix_now(self_ptr self) {
  return self->state.clock->unix_seconds();
}

db::backend engine(self_ptr self) {
  return self->state.cfg->database.url.empty() ? db::backend::sqlite
                                               : db::backend::postgres;
}

/// Wall time as a time point (retry arithmetic).
wall::time_point wall_now(self_ptr self) {
  return wall::time_point(
      std::chrono::milliseconds(self->state.clock->unix_ms()));
}

std::string iso8601(std::int64_t t) {
  std::time_t tt = t;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct post_result {
  long status = 0;
  std::string error;
};

std::size_t discard(char*, std::size_t size, std::size_t n, void*) {
  return size * n;
}

/// Resolves the host and refuses loopback, private and reserved targets
/// unless allowed; the connection is then pinned to the checked address
/// (CURLOPT_RESOLVE), so DNS cannot hand curl a different one afterwards.
std::optional<std::string>
vetted_address(const auth::url& u, bool allow_private, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(u.host.c_str(), nullptr, &hints, &res) != 0 || !res) {
    error = "cannot resolve " + u.host;
    return std::nullopt;
  }
  std::optional<std::string> chosen;
  for (auto* p = res; p; p = p->ai_next) {
    char buf[64] = {0};
    const void* addr
        = p->ai_family == AF_INET
              ? static_cast<const void*>(
                  &reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr)
              : static_cast<const void*>(
                  &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr);
    if (!inet_ntop(p->ai_family, addr, buf, sizeof buf))
      continue;
    auto ip = auth::ip_address::parse(buf);
    if (!ip || auth::is_forbidden_target(*ip, allow_private)) {
      error = "target address " + std::string(buf) + " is not allowed";
      chosen.reset();
      break; // one forbidden address taints the name (rebinding tricks)
    }
    if (!chosen)
      chosen = std::string(buf);
  }
  freeaddrinfo(res);
  return chosen;
}

/// POSTs `body` to the endpoint, signed with the timestamp `now`.
post_result post(const webhook_endpoint& ep, const std::string& msg_id,
                 const std::string& body, const config::settings& cfg,
                 std::int64_t now) {
  post_result out;
  auto u = auth::parse_url(ep.url);
  if (!u) {
    out.error = "invalid url";
    return out;
  }
  auto addr = vetted_address(*u, cfg.webhooks.allow_private_targets, out.error);
  if (!addr)
    return out;
  auto ts = std::to_string(now);
  auto sig = auth::sign_webhook(ep.secret, msg_id, now, body);
  if (!sig) {
    out.error = "invalid endpoint secret";
    return out;
  }
  CURL* curl = curl_easy_init();
  if (!curl) {
    out.error = "curl init failed";
    return out;
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, ("webhook-id: " + msg_id).c_str());
  headers = curl_slist_append(headers, ("webhook-timestamp: " + ts).c_str());
  headers = curl_slist_append(headers, ("webhook-signature: " + *sig).c_str());
  headers
      = curl_slist_append(headers, "User-Agent: passwordless-auth-webhooks");
  auto pin
      = u->host + ":" + std::to_string(u->port) + ":"
        + (addr->find(':') != std::string::npos ? "[" + *addr + "]" : *addr);
  curl_slist* resolve = curl_slist_append(nullptr, pin.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, ep.url.c_str());
  curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
  // Never a proxy, whatever http_proxy/https_proxy/all_proxy say: a proxy
  // would connect to the receiver itself, around the address checked and
  // pinned above. "" disables proxies; NOPROXY "*" is the second lock.
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(cfg.webhooks.timeout * 1000));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(cfg.webhooks.timeout * 1000));
  auto rc = curl_easy_perform(curl);
  if (rc == CURLE_OK)
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  else
    out.error = curl_easy_strerror(rc);
  curl_slist_free_all(headers);
  curl_slist_free_all(resolve);
  curl_easy_cleanup(curl);
  return out;
}

void record(self_ptr self, db::statement s) {
  db::unit u;
  u.statements.push_back(std::move(s));
  self->request(self->state.db, db_timeout, atom::write_atom_v, std::move(u))
      .then([](db::unit_result&) {},
            [](caf::error& e) {
              log::error("webhooks", "delivery-record-failed",
                         {{"error", caf::to_string(e)}});
            });
}

void deliver(self_ptr self, const store::claimed_delivery& d) {
  auto& st = self->state;
  const auto& cfg = *st.cfg;
  const auto& id = d.id;
  auto ep_it = st.endpoints.find(d.endpoint_id);
  auto attempts = d.attempts;
  if (ep_it == st.endpoints.end() || !ep_it->second.enabled) {
    // Endpoint gone or disabled meanwhile: park the delivery as pending.
    record(self, store::park(id, st.owner, unix_now(self) + 60));
    return;
  }
  if (d.lease_until - unix_now(self)
      <= static_cast<std::int64_t>(cfg.webhooks.timeout) + 1) {
    // Deliveries of one claim go out one after another: an attempt that
    // could outlast the lease might overlap another node's attempt once the
    // lease ran out. Handed back (attempt not counted), due now.
    record(self, store::park(id, st.owner, unix_now(self)));
    return;
  }
  auto& ep = ep_it->second;
  auto res = post(ep, id, d.payload, cfg, unix_now(self));
  auto now = unix_now(self);
  if (res.error.empty() && res.status >= 200 && res.status < 300) {
    ep.consecutive_failures = 0;
    ep.trips = 0;
    record(self, store::mark_succeeded(id, res.status, now));
    caf::anon_send(st.metrics,
                   metrics::inc("webhook_deliveries_total", {"succeeded"}));
    log::info("webhooks", "webhook-delivered",
              {{"delivery_id", id},
               {"endpoint_id", ep.id},
               {"status", res.status},
               {"attempts", attempts}});
    return;
  }
  auto err
      = res.error.empty() ? "HTTP " + std::to_string(res.status) : res.error;
  if (++ep.consecutive_failures >= breaker_threshold) {
    // Stop hammering a dead receiver: wait, doubling per trip, up to 1 h.
    ep.open_until
        = now + std::min<std::int64_t>(3600, 30LL << std::min(ep.trips, 7));
    ++ep.trips;
    ep.consecutive_failures = 0;
    log::warn("webhooks", "webhook-circuit-open",
              {{"endpoint_id", ep.id}, {"until", ep.open_until}});
  }
  mail::retry_policy policy;
  policy.first_delay = std::chrono::seconds(cfg.webhooks.retry_first_delay);
  policy.cap = std::chrono::seconds(cfg.webhooks.retry_cap);
  policy.deadline = std::chrono::seconds(cfg.webhooks.retry_deadline);
  auto created = wall::time_point(std::chrono::seconds(d.created_at));
  if (mail::give_up(created, wall_now(self), policy)) {
    record(self, store::mark_failed(id, res.status, err));
    caf::anon_send(st.metrics,
                   metrics::inc("webhook_deliveries_total", {"failed"}));
    log::error("webhooks", "webhook-failed",
               {{"delivery_id", id}, {"error", err}});
    return;
  }
  auto next
      = mail::next_attempt(static_cast<std::uint32_t>(attempts), wall_now(self),
                           policy, mail::default_random_source());
  auto next_unix = std::chrono::duration_cast<std::chrono::seconds>(
                       next.time_since_epoch())
                       .count();
  record(self, store::reschedule(id, st.owner, res.status, err, next_unix));
  caf::anon_send(st.metrics,
                 metrics::inc("webhook_deliveries_total", {"retried"}));
  log::warn(
      "webhooks", "webhook-retry-scheduled",
      {{"delivery_id", id}, {"error", err}, {"next_attempt_at", next_unix}});
}

void scan(self_ptr self) {
  auto& st = self->state;
  if (st.busy || !st.loaded)
    return;
  auto now = unix_now(self);
  // Endpoints whose circuit is open are skipped; their deliveries wait.
  std::vector<std::string> open;
  for (const auto& [id, ep] : st.endpoints)
    if (ep.open_until > now)
      open.push_back(id);
  auto open_count = static_cast<int>(open.size());
  caf::anon_send(st.metrics, metrics::set("webhook_circuits_open", open_count));
  st.busy = true;
  db::unit claim;
  claim.statements.push_back(
      store::claim_due(engine(self), now, now + st.cfg->webhooks.lease_timeout,
                       st.owner, open, batch_size));
  self->request(st.db, db_timeout, atom::write_atom_v, std::move(claim))
      .then(
          [self](db::unit_result& r) {
            std::size_t n = 0;
            if (r.ok && !r.results.empty()) {
              auto claimed = store::decode_claimed(r.results[0]);
              n = claimed.size();
              for (const auto& d : claimed)
                deliver(self, d);
            }
            self->state.busy = false;
            // One scan is complete: its claim and every attempt it led to.
            caf::anon_send(self->state.metrics,
                           metrics::inc("webhook_polls_total"));
            if (n == static_cast<std::size_t>(batch_size))
              self->send(self, atom::wake_atom_v);
          },
          [self](caf::error& e) {
            self->state.busy = false;
            log::warn("webhooks", "claim-failed",
                      {{"error", caf::to_string(e)}});
          });
}

/// The payload of the event in audit row `row` (Standard Webhooks body).
std::string payload_of(const store::audit_row& row, std::int64_t now) {
  auto opt = [](const std::string& v) {
    return v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v);
  };
  nlohmann::json data = {{"user_id", opt(row.user_id)},
                         {"success", row.success},
                         {"ip", opt(row.ip)},
                         {"request_id", opt(row.request_id)}};
  auto meta = nlohmann::json::parse(row.metadata, nullptr, false);
  if (meta.is_object() && !meta.empty())
    data["metadata"] = meta;
  return nlohmann::json{
      {"type", row.type},
      {"timestamp", iso8601(row.created_at ? row.created_at : now)},
      {"data", data}}
      .dump();
}

void derive(self_ptr self);

/// A derivation pass is over: look at the outbox, and derive again when
/// more rows may be waiting.
void derive_done(self_ptr self, bool more) {
  auto& st = self->state;
  st.deriving = false;
  scan(self);
  if (more || st.derive_again) {
    st.derive_again = false;
    self->send(self, atom::wake_atom_v);
  }
}

/// Turns the committed audit rows after `from` into deliveries, in one unit
/// with the cursor's move from `from`: either both commit or neither.
void derive_rows(self_ptr self, const store::audit_cursor& from,
                 const std::vector<store::audit_row>& rows) {
  auto& st = self->state;
  auto now = unix_now(self);
  store::audit_cursor to{rows.back().tx, rows.back().id};
  db::unit u;
  if (engine(self) == db::backend::sqlite)
    u.statements.push_back(store::audit_rows_still(
        from, to, static_cast<std::int64_t>(rows.size())));
  std::size_t deliveries = 0;
  for (const auto& row : rows) {
    // Admin plumbing is not an event anybody subscribes to by "*".
    if (row.type == "admin.request")
      continue;
    std::string payload;
    for (const auto& [id, ep] : st.endpoints) {
      if (!ep.enabled || !webhook_wants(ep.event_types, row.type))
        continue;
      if (payload.empty())
        payload = payload_of(row, now);
      u.statements.push_back(store::insert_delivery(
          "msg_" + auth::uuid_v4(), id, row.type, payload, now, row.id));
      ++deliveries;
    }
  }
  u.statements.push_back(store::advance_cursor(from, to));
  bool full = rows.size() == static_cast<std::size_t>(derive_batch);
  self->request(st.db, db_timeout, atom::write_atom_v, std::move(u))
      .then(
          [self, full, deliveries](db::unit_result& r) {
            if (!r.ok) {
              // Another node moved the cursor first (it derived these rows):
              // read again now. Rows read that did not commit after all
              // (SQLite, "audit_changed"), or anything else: the next wake
              // or tick tries again, no loop on a refusal that would repeat.
              bool moved = r.fail_code == "cursor_moved";
              if (moved)
                log::debug("webhooks", "derive-retry", {{"code", r.fail_code}});
              else
                log::warn("webhooks", "derive-refused",
                          {{"code", r.fail_code}});
              return derive_done(self, moved);
            }
            if (deliveries > 0)
              log::debug("webhooks", "deliveries-derived",
                         {{"deliveries", deliveries}});
            derive_done(self, full);
          },
          [self](caf::error& e) {
            log::warn("webhooks", "derive-failed",
                      {{"error", caf::to_string(e)}});
            derive_done(self, false);
          });
}

/// One derivation pass: the cursor, the committed rows after it, then their
/// deliveries. Ends in one scan of the outbox.
void derive(self_ptr self) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  if (st.deriving) {
    st.derive_again = true;
    return;
  }
  st.deriving = true;
  st.derive_again = false;
  auto failed = [self](caf::error& e) {
    log::warn("webhooks", "derive-failed", {{"error", caf::to_string(e)}});
    derive_done(self, false);
  };
  self->request(st.db, db_timeout, atom::query_atom_v, store::cursor())
      .then(
          [self, failed](db::rowset& rs) {
            if (rs.empty()) {
              log::error("webhooks", "webhook-cursor-missing", {});
              return derive_done(self, false);
            }
            auto from = store::decode_cursor(rs);
            self->request(self->state.db, db_timeout, atom::query_atom_v,
                          store::audit_after(engine(self), from, derive_batch))
                .then(
                    [self, from](db::rowset& rows) {
                      auto decoded = store::decode_audit_rows(rows);
                      if (decoded.empty())
                        return derive_done(self, false);
                      derive_rows(self, from, decoded);
                    },
                    failed);
          },
          failed);
}

void load(self_ptr self) {
  self->request(self->state.db, db_timeout, atom::query_atom_v,
                store::endpoints())
      .then(
          [self](db::rowset& rs) {
            auto& st = self->state;
            std::map<std::string, webhook_endpoint> next;
            for (const auto& row : store::decode_endpoints(rs)) {
              webhook_endpoint ep;
              ep.id = row.id;
              ep.url = row.url;
              auto secret = auth::secret_box::open(
                  st.keys->webhooks, auth::to_bytes(row.secret_enc), ep.id);
              if (!secret) {
                log::error("webhooks", "webhook-secret-undecryptable",
                           {{"endpoint_id", ep.id}});
                continue;
              }
              ep.secret = auth::to_string(*secret);
              auto types
                  = nlohmann::json::parse(row.event_types, nullptr, false);
              if (types.is_array())
                for (const auto& t : types)
                  if (t.is_string())
                    ep.event_types.push_back(t.get<std::string>());
              ep.enabled = row.enabled;
              // Keep the breaker of endpoints that stay.
              if (auto old = st.endpoints.find(ep.id);
                  old != st.endpoints.end()) {
                ep.consecutive_failures = old->second.consecutive_failures;
                ep.open_until = old->second.open_until;
                ep.trips = old->second.trips;
              }
              next.emplace(ep.id, std::move(ep));
            }
            st.endpoints = std::move(next);
            if (!st.loaded && engine(self) == db::backend::sqlite)
              record(self, store::requeue_interrupted());
            st.loaded = true;
            derive(self);
          },
          [self](caf::error&) {
            self->delayed_send(self, std::chrono::milliseconds(200),
                               atom::load_atom_v);
          });
}

/// Stores the configured endpoint (id "config") so its deliveries have a row.
void upsert_config_endpoint(self_ptr self) {
  const auto& cfg = *self->state.cfg;
  if (cfg.webhooks.url.empty() || cfg.webhooks.secret.empty()) {
    self->send(self, atom::load_atom_v);
    return;
  }
  auto sealed
      = auth::secret_box::seal(self->state.keys->webhooks,
                               auth::to_bytes(cfg.webhooks.secret), "config");
  db::unit u;
  u.statements.push_back(store::upsert_config_endpoint(
      cfg.webhooks.url, auth::to_string(sealed),
      nlohmann::json(cfg.webhooks.event_types).dump(), unix_now(self)));
  self->request(self->state.db, db_timeout, atom::write_atom_v, std::move(u))
      .then([self](db::unit_result&) { self->send(self, atom::load_atom_v); },
            [self](caf::error&) {
              self->delayed_send(self, std::chrono::milliseconds(200),
                                 atom::load_atom_v);
            });
}

/// Deletes finished deliveries (succeeded or failed) created more than
/// webhooks.retention_days ago; pending ones are work, never purged.
void purge(self_ptr self) {
  auto days = self->state.cfg->webhooks.retention_days;
  run_retention_purge(self, self->state.db,
                      store::purge_finished(unix_now(self) - days * 86400),
                      retention_purge{"webhooks", "webhook-deliveries-purged",
                                      "webhook-purge-failed", days});
}

} // namespace

bool webhook_wants(const std::vector<std::string>& event_types,
                   const std::string& type) {
  for (const auto& t : event_types) {
    if (t == "*" || t == type)
      return true;
    if (t.size() > 2 && t.compare(t.size() - 2, 2, ".*") == 0
        && type.compare(0, t.size() - 1, t, 0, t.size() - 1) == 0)
      return true;
  }
  return false;
}

webhook_actor::behavior_type
webhook_impl(webhook_actor::stateful_pointer<webhook_state> self,
             webhook_options opts, db_actor db, metrics_actor metrics,
             const auditor_actor& auditor) {
  auto& st = self->state;
  st.cfg = std::move(opts.cfg);
  st.keys = std::move(opts.keys);
  st.clock = std::move(opts.clock);
  st.db = std::move(db);
  st.metrics = std::move(metrics);
  st.owner = lease_owner_token();
  if (auditor)
    caf::anon_send(auditor, atom::subscribe_atom_v,
                   caf::actor_cast<audit_commit_listener>(self));
  upsert_config_endpoint(self);
  self->send(self, atom::purge_atom_v);
  self->delayed_send(self, opts.first_tick, atom::tick_atom_v);
  return {
      [=](atom::load_atom) { load(self); },
      [=](atom::wake_atom) { derive(self); },
      [=](atom::purge_atom) { purge(self); },
      [=](atom::tick_atom) {
        load(self); // then derive, then scan
        auto ms = static_cast<long long>(self->state.cfg->webhooks.poll_interval
                                         * 1000);
        self->delayed_send(self, std::chrono::milliseconds(ms),
                           atom::tick_atom_v);
      },
  };
}

} // namespace authsvc
