#include "actors/caf_api_actor.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

#include "actors/db_timeout.hpp"
#include "actors/email_start_flow.hpp"
#include "actors/requester.hpp"
#include "auth/email_address.hpp"
#include "core/log.hpp"
#include "core/version.hpp"
#include "db/users_store.hpp"

namespace authsvc {

namespace api = passwordless::api;

namespace {

using self_ptr = caf_api_actor::stateful_pointer<caf_api_state>;
using relay_ptr = audit_subscriber::stateful_pointer<audit_relay_state>;

/// A subscriber that does not acknowledge an event in this time is gone.
constexpr auto sink_timeout = std::chrono::seconds(30);

api::audit_record to_record(const audit_event& e) {
  return {e.type,       e.created_at, e.user_id, e.email,    e.ip, e.user_agent,
          e.request_id, e.actor,      e.success, e.metadata, 0};
}

api::user_record to_record(const user_info& u) {
  return {u.id, u.email, u.display_name, u.locale, u.created_at, u.disabled};
}

// -- audit relay
// ----------------------------------------------------------------

/// Sends buffered events while fewer than `window` are unacknowledged.
void pump(relay_ptr self) {
  auto& st = self->state;
  while (st.in_flight < st.opts.subscriber_window && !st.buffer.empty()) {
    auto rec = std::move(st.buffer.front());
    st.buffer.pop_front();
    rec.dropped_before = st.dropped;
    st.dropped = 0;
    ++st.in_flight;
    self->request(st.sink, sink_timeout, std::move(rec))
        .then(
            [self](bool) {
              --self->state.in_flight;
              pump(self);
            },
            [self](caf::error& e) {
              // Timeout, a dead sink or a lost connection: this subscription
              // ends (the auditor sees the relay go down and forgets it).
              log::info("caf", "caf-subscriber-dropped",
                        {{"error", caf::to_string(e)}});
              self->quit();
            });
  }
}

audit_subscriber::behavior_type audit_relay_impl(relay_ptr self,
                                                 const api::audit_sink& sink,
                                                 caf_api_options opts) {
  self->state.sink = sink;
  self->state.opts = std::move(opts);
  self->monitor(sink);
  // Ending normally: the link to the API actor must not take it down.
  self->set_down_handler([self](const caf::down_msg&) { self->quit(); });
  return {
      [=](audit_event& e) {
        // The auditor sends anonymously and locally. Once this relay's
        // handle went out with a request, a remote node could send it events
        // too: ignore those.
        const auto& from = self->current_sender();
        if (from && from->node() != self->home_system().node())
          return;
        auto& st = self->state;
        if (st.buffer.size() >= st.opts.subscriber_buffer) {
          st.buffer.pop_front();
          ++st.dropped;
        }
        st.buffer.push_back(to_record(e));
        pump(self);
      },
  };
}

// -- API actor helpers
// -------------------------------------------------------------

/// How the service names the caller: the identity of its client
/// certificate when it came through the mutual-TLS gate (CAF 0.17 itself
/// never tells an actor which certificate a message came with, so the gate
/// binds each node id to its certificate), else its CAF node id (stable
/// for the connection's process).
std::string peer_of(self_ptr self) {
  const auto& s = self->current_sender();
  if (!s)
    return "anonymous";
  if (s->node() == self->home_system().node())
    return "local";
  auto node = caf::to_string(s->node());
  if (const auto& peers = self->state.opts.peers)
    if (auto id = peers->identity_of(node))
      return "client:" + *id;
  return "node:" + node;
}

void audit(self_ptr self, const std::string& peer, std::string type,
           bool success, const std::string& user_id = {},
           std::string email = {}, const nlohmann::json& metadata = {}) {
  requester who;
  who.actor = "caf:" + peer;
  authsvc::audit(self->state.svc, who, std::move(type), success, user_id,
                 std::move(email), metadata);
}

void count(self_ptr self, const char* op, const std::string& outcome,
           const std::string& peer) {
  caf::anon_send(
      self->state.svc.metrics,
      metrics::inc("caf_calls_total", {op, outcome.empty() ? "ok" : outcome}));
  if (log::enabled(spdlog::level::debug))
    log::debug("caf", "caf-call",
               {{"operation", op},
                {"peer", peer},
                {"outcome", outcome.empty() ? "ok" : outcome}});
}

/// Applies the per-node limit. @returns false (after counting and, once
/// per streak, auditing) when the call is refused.
bool admit(self_ptr self, const char* op, const std::string& peer) {
  auto& st = self->state;
  if (!st.limiter)
    return true;
  auto d = st.limiter->check(peer, st.svc.clock->steady_ns() / 1000);
  if (d.allowed) {
    st.refused.erase(peer);
    return true;
  }
  caf::anon_send(st.svc.metrics,
                 metrics::inc("rate_limit_hits_total", {"caf"}));
  count(self, op, "rate_limited", peer);
  if (!st.refused[peer]) {
    st.refused[peer] = true;
    audit(self, peer, "caf.rate_limited", false, {}, {},
          {{"operation", op}, {"retry_after", d.retry_after_seconds}});
  }
  return false;
}

std::string failure_code(const caf::error& e) {
  if (e == caf::sec::request_timeout || e == caf::sec::request_receiver_down)
    return "service_unavailable";
  return "internal_error";
}

} // namespace

caf_api_actor::behavior_type caf_api_impl(self_ptr self, services svc,
                                          caf_api_options opts) {
  auto& st = self->state;
  st.svc = std::move(svc);
  st.opts = opts;
  if (opts.rate)
    st.limiter.emplace(*opts.rate);
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& relays = self->state.relays;
    for (auto i = relays.begin(); i != relays.end(); ++i)
      if (i->second.address() == dm.source) {
        relays.erase(i);
        break;
      }
  });
  return {
      [=](api::hello_atom, std::uint32_t version) -> api::hello_reply {
        auto peer = peer_of(self);
        api::hello_reply r;
        r.version = api::interface_version;
        r.service_version = authsvc::version;
        r.peer = peer;
        if (!admit(self, "hello", peer)) {
          r.error = "rate_limited";
          return r;
        }
        if (version != api::interface_version)
          r.error = "version_mismatch";
        count(self, "hello", r.error, peer);
        audit(self, peer, "caf.hello", r.error.empty(), {}, {},
              {{"client_version", version}});
        return r;
      },
      [=](api::verify_atom,
          std::string& token) -> caf::result<api::verify_reply> {
        auto peer = peer_of(self);
        if (!admit(self, "verify", peer))
          return api::verify_reply{"rate_limited", {}};
        if (token.empty() || token.size() > 8192) {
          count(self, "verify", "unauthorized", peer);
          audit(self, peer, "caf.verify", false);
          return api::verify_reply{"unauthorized", {}};
        }
        auto claims_of = [](const auth_context& a) {
          return api::token_claims{a.user_id,
                                   a.session_id,
                                   a.amr,
                                   a.issued_at,
                                   a.expires_at,
                                   a.jti,
                                   a.session_created_at,
                                   a.session_expires_at,
                                   to_record(a.user)};
        };
        // As over HTTP: a token the session actor verified before, of a
        // session it published as live, is answered without asking it
        // (actors/session_directory.hpp); anything else asks.
        const auto& svc = self->state.svc;
        if (svc.session_dir)
          if (auto a
              = svc.session_dir->check(token, svc.clock->unix_seconds(),
                                       svc.cfg->auth.session_idle_timeout)) {
            count(self, "verify", "", peer);
            return api::verify_reply{"", claims_of(*a)};
          }
        auto rp = self->make_response_promise<api::verify_reply>();
        self->request(self->state.svc.sessions, db_timeout, atom::verify_atom_v,
                      std::move(token))
            .then(
                [self, rp, peer, claims_of](auth_result& r) mutable {
                  api::verify_reply out;
                  out.error = r.error;
                  count(self, "verify", r.error, peer);
                  if (!r.error.empty()) {
                    // Successful checks are counted, not audited: they are the
                    // hot path (as GET /v1/session is over HTTP).
                    audit(self, peer, "caf.verify", false);
                    rp.deliver(std::move(out));
                    return;
                  }
                  out.claims = claims_of(r.auth);
                  rp.deliver(std::move(out));
                },
                [self, rp, peer](caf::error& e) mutable {
                  count(self, "verify", failure_code(e), peer);
                  rp.deliver(api::verify_reply{failure_code(e), {}});
                });
        return rp;
      },
      [=](api::session_atom,
          std::string& id) -> caf::result<api::session_reply> {
        auto peer = peer_of(self);
        api::session_reply out;
        if (!admit(self, "session", peer)) {
          out.error = "rate_limited";
          return out;
        }
        if (id.empty() || id.size() > 64) {
          out.error = "validation_failed";
          count(self, "session", out.error, peer);
          return out;
        }
        auto rp = self->make_response_promise<api::session_reply>();
        self->request(self->state.svc.sessions, db_timeout, atom::lookup_atom_v,
                      std::move(id))
            .then(
                [self, rp, peer](std::vector<session_view>& v) mutable {
                  api::session_reply out;
                  if (!v.empty()) {
                    const auto& s = v.front();
                    out.live = true;
                    out.user_id = s.user_id;
                    out.amr = s.amr;
                    out.created_at = s.created_at;
                    out.last_seen_at = s.last_seen_at;
                    out.expires_at = s.expires_at;
                  }
                  count(self, "session", {}, peer);
                  rp.deliver(std::move(out));
                },
                [self, rp, peer](caf::error& e) mutable {
                  api::session_reply out;
                  out.error = failure_code(e);
                  count(self, "session", out.error, peer);
                  rp.deliver(std::move(out));
                });
        return rp;
      },
      [=](api::revoke_atom,
          api::revoke_request& req) -> caf::result<api::revoke_reply> {
        auto peer = peer_of(self);
        if (!admit(self, "revoke", peer))
          return api::revoke_reply{"rate_limited", 0};
        if ((req.session_id.empty() && req.user_id.empty())
            || req.session_id.size() > 64 || req.user_id.size() > 64
            || req.reason.size() > 200) {
          count(self, "revoke", "validation_failed", peer);
          audit(self, peer, "caf.revoke", false, req.user_id);
          return api::revoke_reply{"validation_failed", 0};
        }
        revocation rv;
        rv.session_id = req.session_id;
        rv.user_id = req.user_id;
        rv.reason = "caf";
        auto rp = self->make_response_promise<api::revoke_reply>();
        self->request(self->state.svc.sessions, db_timeout, atom::revoke_atom_v,
                      rv)
            .then(
                [self, rp, peer, req](std::int32_t n) mutable {
                  count(self, "revoke", {}, peer);
                  audit(self, peer, "caf.revoke", true, req.user_id, {},
                        {{"session_id", req.session_id},
                         {"revoked", n},
                         {"reason", req.reason}});
                  rp.deliver(api::revoke_reply{"", n});
                },
                [self, rp, peer, req](caf::error& e) mutable {
                  count(self, "revoke", failure_code(e), peer);
                  audit(self, peer, "caf.revoke", false, req.user_id, {},
                        {{"session_id", req.session_id}});
                  rp.deliver(api::revoke_reply{failure_code(e), 0});
                });
        return rp;
      },
      [=](api::user_atom, api::user_query& q) -> caf::result<api::user_reply> {
        auto peer = peer_of(self);
        if (!admit(self, "user", peer))
          return api::user_reply{"rate_limited", {}};
        std::optional<db::statement> read;
        if (!q.id.empty() && q.email.empty() && q.id.size() <= 64) {
          read = db::users_store::by_id(q.id);
        } else if (q.id.empty() && !q.email.empty() && q.email.size() <= 320) {
          auto n = auth::normalise_email(q.email);
          if (n)
            read = db::users_store::by_email(*n.address);
        }
        if (!read) {
          count(self, "user", "validation_failed", peer);
          audit(self, peer, "caf.user", false);
          return api::user_reply{"validation_failed", {}};
        }
        auto rp = self->make_response_promise<api::user_reply>();
        self->request(self->state.svc.db, db_timeout, atom::query_atom_v,
                      std::move(*read))
            .then(
                [self, rp, peer](db::rowset& rs) mutable {
                  api::user_reply out;
                  if (auto u = db::users_store::decode_found_user(rs))
                    out.user = to_record(*u);
                  else
                    out.error = "not_found";
                  count(self, "user", out.error, peer);
                  audit(self, peer, "caf.user", out.error.empty(), out.user.id);
                  rp.deliver(std::move(out));
                },
                [self, rp, peer](caf::error& e) mutable {
                  count(self, "user", failure_code(e), peer);
                  rp.deliver(api::user_reply{failure_code(e), {}});
                });
        return rp;
      },
      [=](api::email_atom, api::email_start_request& req)
          -> caf::result<api::email_start_reply> {
        auto peer = peer_of(self);
        if (!admit(self, "email_start", peer))
          return api::email_start_reply{"rate_limited", {}, {}, {}, 0};
        // The same limits as the HTTP body fields.
        std::vector<field_problem> problems;
        std::optional<std::string> email_in;
        if (req.email.empty())
          problems.emplace_back("email", "is required");
        else if (req.email.size() > 320)
          problems.emplace_back("email", "must be at most 320 characters");
        else
          email_in = req.email;
        if (req.redirect_to.size() > 2048)
          problems.emplace_back("redirect_to",
                                "must be at most 2048 characters");
        if (req.locale.size() > 35)
          problems.emplace_back("locale", "must be at most 35 characters");
        if (req.ip.size() > 64)
          problems.emplace_back("ip", "must be at most 64 characters");
        email_start_input in;
        std::optional<std::string> redirect;
        if (!req.redirect_to.empty() && req.redirect_to.size() <= 2048)
          redirect = req.redirect_to;
        for (auto& p : check_email_start(*self->state.svc.cfg, email_in,
                                         redirect, in.email))
          problems.push_back(std::move(p));
        if (!problems.empty()) {
          api::email_start_reply out;
          out.error = "validation_failed";
          for (auto& [field, problem] : problems) {
            out.details.push_back(field);
            out.details.back().append(": ").append(problem);
          }
          count(self, "email_start", out.error, peer);
          audit(self, peer, "caf.email_start", false);
          return out;
        }
        in.redirect_to = redirect;
        if (!req.locale.empty())
          in.locale = req.locale;
        // The mail shows where the request came from; a caller that does not
        // pass its end user's address and device still gets a readable mail.
        in.ip = req.ip.empty() ? "unknown" : req.ip;
        in.user_agent = req.user_agent.empty() ? "passwordless CAF API client"
                                               : req.user_agent.substr(0, 512);
        in.actor = "caf:" + peer;
        auto email = in.email;
        auto rp = self->make_response_promise<api::email_start_reply>();
        start_email_flow(
            self, self->state.svc, in,
            [self, rp, peer, email](email_start_outcome& o) mutable {
              api::email_start_reply out;
              if (!o.internal_cause.empty()) {
                log::error("caf", "caf-email-start-failed",
                           {{"cause", o.internal_cause}});
                out.error = "internal_error";
              } else {
                out.flow_id = o.flow_id;
                out.flow_secret = o.flow_secret;
                out.expires_in = o.expires_in;
              }
              count(self, "email_start", out.error, peer);
              audit(self, peer, "caf.email_start", out.error.empty(), {}, email,
                    {{"flow_id", o.flow_id}});
              rp.deliver(std::move(out));
            },
            [self, rp, peer](caf::error& e) mutable {
              count(self, "email_start", failure_code(e), peer);
              rp.deliver(
                  api::email_start_reply{failure_code(e), {}, {}, {}, 0});
            });
        return rp;
      },
      [=](api::subscribe_atom, api::audit_sink& sink) -> api::subscribe_reply {
        auto peer = peer_of(self);
        if (!admit(self, "subscribe", peer))
          return {"rate_limited"};
        auto& st = self->state;
        if (!sink) {
          count(self, "subscribe", "validation_failed", peer);
          return {"validation_failed"};
        }
        if (st.relays.count(sink.address()) == 0) {
          if (st.relays.size() >= st.opts.max_subscribers) {
            count(self, "subscribe", "service_unavailable", peer);
            audit(self, peer, "caf.subscribe", false, {}, {},
                  {{"reason", "too_many"}});
            return {"service_unavailable"};
          }
          // Linked: the relays end with the API actor.
          auto relay
              = self->spawn<caf::linked>(audit_relay_impl, sink, st.opts);
          self->monitor(relay);
          // Subscribed from here, so the caf.subscribe event below reaches
          // the auditor after the subscription (same sender, same order).
          self->send(st.svc.auditor, atom::subscribe_atom_v, relay);
          st.relays.emplace(sink.address(), relay);
        }
        count(self, "subscribe", {}, peer);
        audit(self, peer, "caf.subscribe", true);
        return {""};
      },
      [=](api::unsubscribe_atom,
          api::audit_sink& sink) -> api::subscribe_reply {
        auto peer = peer_of(self);
        if (!admit(self, "unsubscribe", peer))
          return {"rate_limited"};
        auto& st = self->state;
        auto i = st.relays.find(sink.address());
        if (i == st.relays.end()) {
          count(self, "unsubscribe", "not_found", peer);
          return {"not_found"};
        }
        self->demonitor(i->second.address());
        self->unlink_from(i->second);
        caf::anon_send_exit(i->second, caf::exit_reason::user_shutdown);
        st.relays.erase(i);
        count(self, "unsubscribe", {}, peer);
        audit(self, peer, "caf.unsubscribe", true);
        return {""};
      },
  };
}

} // namespace authsvc
