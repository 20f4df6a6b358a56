#include "front/http_front.hpp"

#include <chrono>
#include <exception>

#include "actors/requester.hpp"
#include "actors/safe_request.hpp"
#include "auth/crypto.hpp"
#include "core/log.hpp"
#include "db/admin_keys_store.hpp"
#include "front/rate_limit.hpp"
#include "front/route_helpers.hpp"

namespace authsvc {

namespace {

// -- admission control (issue 15: overload, unavailable database) ------------

/// Answers 503 service_unavailable with Retry-After: the request was shed
/// (too many in flight) or the database refuses writes for now (disk full,
/// locked by another process). Either passes in a moment, so clients are
/// told to come back rather than given up on.
void reply_retry_later(request_context& ctx, const char* cause) {
  ctx.log_fields["cause"] = cause;
  ctx.extra_headers.push_back({"Retry-After", "1"});
  ctx.reply_error("service_unavailable");
}

/// Bounded label values: anything unexpected becomes "other".
std::string method_label(const std::string& m) {
  for (auto k : http::method::all)
    if (m == k)
      return m;
  return "other";
}

/// Admin routes: the bootstrap key from the environment, or a key made by
/// `passwordless-auth admin create-key` (stored as an HMAC). Every admitted
/// call is audited with the key id before the handler runs.
void admin_guard(const context_ptr& ctx, handler_fn handler) {
  auto authz = ctx->req.header("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (authz.size() <= bearer.size() || authz.size() > 512
      || !http::iequals(authz.substr(0, bearer.size()), bearer))
    return ctx->reply_error("unauthorized");
  auto key = std::string(authz.substr(bearer.size()));
  auto admit = [ctx, handler](std::string actor) {
    ctx->actor = std::move(actor);
    ctx->log_fields["actor"] = ctx->actor;
    ctx->audit("admin.request", true, {}, {},
               {{"method", ctx->req.method}, {"route", ctx->route}});
    guarded(ctx, [&] { handler(ctx); });
  };
  const auto& bootstrap = ctx->cfg().admin.api_key;
  if (!bootstrap.empty()
      && auth::constant_time_equal(std::string_view(key),
                                   std::string_view(bootstrap)))
    return admit("admin:bootstrap");
  auto hash
      = auth::hex_encode(auth::hmac_sha256(ctx->svc().keys->admin_pepper, key));
  safe_request(ctx->self, ctx->svc().db, owner_timeout, atom::query_atom_v,
               db::admin_keys_store::active_key(hash))
      .then(
          [ctx, admit](db::rowset& rs) {
            auto id = db::admin_keys_store::decode_key_id(rs);
            if (!id) {
              ctx->audit("admin.rejected", false, {}, {},
                         {{"method", ctx->req.method}, {"route", ctx->route}});
              return ctx->reply_error("unauthorized");
            }
            admit("admin:" + *id);
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}
void route_to(const context_ptr& ctx, http::router<route_entry>::match& m);

/// Acts on owner calls past their deadline: 503, or the call's own
/// `on_owner_timeout`. A late answer then finds a different (or no) call id
/// and is dropped. Deadlines differ per call, so the whole list is swept.
void expire_pending(front_state& st, std::int64_t now_ns) {
  std::deque<front_state::pending_call> keep;
  std::vector<std::pair<context_ptr, std::uint64_t>> due;
  for (auto& p : st.pending) {
    auto ctx = p.ctx.lock();
    if (!ctx || ctx->owner_call != p.call || ctx->replied())
      continue; // finished, answered, or superseded by a later call
    if (p.deadline_ns > now_ns)
      keep.push_back(std::move(p));
    else
      due.emplace_back(std::move(ctx), p.call);
  }
  st.pending = std::move(keep);
  for (auto& [ctx, call] : due)
    if (ctx->owner_call == call)
      ctx->owner_timed_out();
}

void dispatch(const context_ptr& ctx) {
  auto& req = ctx->req;
  // Requests the transport could not read completely still get the usual
  // error shape and headers.
  switch (static_cast<http::rejection>(req.rejected)) {
  case http::rejection::none:
    break;
  case http::rejection::header_too_large:
    ctx->route = "rejected";
    return ctx->reply_error("header_too_large");
  case http::rejection::body_too_large:
    ctx->route = "rejected";
    return ctx->reply_error(
        "payload_too_large", {},
        {{"limit_bytes", ctx->cfg().server.max_body_bytes}});
  case http::rejection::malformed:
    ctx->route = "rejected";
    return ctx->reply_error("bad_request");
  case http::rejection::overloaded:
    ctx->route = "shed";
    return reply_retry_later(*ctx, "overloaded");
  }
  using outcome = http::router<route_entry>::outcome;
  const auto& table = route_table();
  auto m = table.find(req.method, req.path());
  // IP rules apply before routing; operations routes may be exempt so that
  // probes and scrapers from an internal network keep working.
  auto& st = ctx->self->state;
  if (!st.ip_rules.empty()) {
    bool exempt = ctx->cfg().server.ip_filter_exempt_ops
                  && m.result == outcome::found
                  && m.hit->handler.guard == route_guard::ops;
    if (!exempt
        && st.ip_rules.decide(ctx->client_ip) == auth::ip_decision::deny) {
      ctx->log_fields["blocked"] = "ip_filter";
      if (st.blocked_audit
              ->check(ctx->client_ip, ctx->svc().clock->steady_ns() / 1000)
              .allowed)
        ctx->audit("ip.blocked", false, {}, {},
                   {{"route", m.result == outcome::found ? m.hit->pattern
                                                         : "unmatched"}});
      return ctx->reply_error("forbidden");
    }
  }
  if (http::cors_policy::is_preflight(req)) {
    if (m.allowed.empty())
      return ctx->reply_error("not_found");
    ctx->route = m.result == outcome::found ? m.hit->pattern : "preflight";
    auto allowed = m.allowed;
    auto r = ctx->self->state.cors.preflight(req, allowed, ctx->request_id);
    return ctx->reply(std::move(r));
  }
  // Rate limits wrap everything after routing: the global per-IP ceiling
  // for every request, plus the route's class (one limiter message).
  // Operations routes may skip them: a probe answered 429 would take a
  // healthy instance out of rotation.
  const char* rate_class = nullptr;
  if (m.result == outcome::found) {
    ctx->route = m.hit->pattern;
    rate_class = m.hit->handler.rate_class;
    if (m.hit->handler.guard == route_guard::ops
        && ctx->cfg().rate_limit.exempt_ops)
      return route_to(ctx, m);
  }
  auto shared = std::make_shared<decltype(m)>(std::move(m));
  with_ip_limits(ctx, rate_class, [ctx, shared] { route_to(ctx, *shared); });
}

void route_to(const context_ptr& ctx, http::router<route_entry>::match& m) {
  using outcome = http::router<route_entry>::outcome;
  if (m.result == outcome::not_found)
    return ctx->reply_error("not_found");
  if (m.result == outcome::method_not_allowed) {
    std::string allow;
    for (const auto& a : m.allowed)
      allow += (allow.empty() ? "" : ", ") + a;
    auto r = http::error_response({"method_not_allowed", {}, {}, 0},
                                  ctx->request_id);
    r.set_header("Allow", allow);
    return ctx->reply(std::move(r));
  }
  ctx->params = std::move(m.params);
  auto handler = m.hit->handler.handler;
  if (m.hit->handler.guard == route_guard::admin)
    return admin_guard(ctx, handler);
  auto guard = m.hit->handler.guard;
  if (guard != route_guard::user && guard != route_guard::recent)
    return guarded(ctx, [&] { handler(ctx); });
  // Authenticated routes: the token must check out and its session be
  // live (in memory, no database read).
  auto authz = ctx->req.header("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (authz.size() <= bearer.size() || authz.size() > 8192
      || !http::iequals(authz.substr(0, bearer.size()), bearer))
    return ctx->reply_error("unauthorized");
  auto token = authz.substr(bearer.size());
  auto admitted = [ctx, handler, guard](auth_context&& a) {
    ctx->auth = std::move(a); // logged as user_id by reply()
    // Factor changes: a stolen access token alone is not enough.
    if (guard == route_guard::recent && !ctx->recent_sign_in())
      return ctx->reply_error("reauthentication_required");
    guarded(ctx, [&] { handler(ctx); });
  };
  // A token verified before, of a session the session actor published as
  // live: answered here, without a message (issue 13). Anything else asks
  // the actor, which stays the authority.
  if (const auto& view = ctx->svc().session_dir)
    if (auto a = view->check(token, ctx->svc().clock->unix_seconds(),
                             ctx->cfg().auth.session_idle_timeout)) {
      // As below: an OAuth client's token is not for the account API.
      if (!a->client_id.empty())
        return ctx->reply_error("unauthorized");
      return admitted(std::move(*a));
    }
  auto [call, rq] = ask_owner(ctx, owner_timeout, ctx->svc().sessions,
                              atom::verify_atom_v, std::string(token));
  rq.then(
      [ctx, admitted, call = call](auth_result& r) {
        if (!ctx->owner_answered(call))
          return;
        // An OAuth client's access token (issue 16) is for that client and
        // /oauth2/userinfo, never for the account API.
        if (!r.error.empty() || !r.auth.client_id.empty())
          return ctx->reply_error("unauthorized");
        admitted(std::move(r.auth));
      },
      [ctx, call = call](caf::error& e) {
        if (ctx->owner_answered(call))
          ctx->reply_failure(e);
      });
}

} // namespace

bool request_context::recent_sign_in() const {
  auto now = svc().clock->unix_seconds();
  return auth.auth_time > 0
         && now - auth.auth_time <= cfg().auth.reauth_max_age;
}

request_context::request_context(
    http_front_actor::stateful_pointer<front_state> s, http::request&& r,
    http::responder_ptr o)
    : self(s), req(std::move(r)), out(std::move(o)) {
  request_id = http::resolve_request_id(req);
  client_ip = req.peer;
  https = req.tls;
  const auto& trust = s->state.trust;
  if (!trust.trusted_proxies.empty()) {
    if (auto peer = auth::ip_address::parse(req.peer)) {
      // Repeated headers are joined with commas (RFC 9110 §5.3).
      auto joined = [&](std::string_view name) -> std::optional<std::string> {
        std::optional<std::string> out;
        for (const auto& h : req.headers)
          if (http::iequals(h.name, name))
            out = out ? *out + "," + h.value : h.value;
        return out;
      };
      auto xff = joined("X-Forwarded-For");
      auto xfp = joined("X-Forwarded-Proto");
      auto fwd = joined("Forwarded");
      auth::forwarding_headers fh;
      if (xff)
        fh.x_forwarded_for = *xff;
      if (xfp)
        fh.x_forwarded_proto = *xfp;
      if (fwd)
        fh.forwarded = *fwd;
      client_ip = auth::resolve_client_ip(*peer, fh, trust).to_string();
      https = auth::client_used_https(*peer, req.tls, fh, trust);
    }
  }
  if (req.received_ns == 0)
    req.received_ns = s->state.svc.clock->steady_ns();
  uncaught_at_start_ = std::uncaught_exceptions();
}

// -- handler exceptions (issue 15) --------------------------------------------

request_context::~request_context() {
  // Only while an exception unwinds: then the front actor runs (it is in
  // the continuation that threw), so replying is safe. A context dropped
  // for another reason (shutdown) keeps the responder's 503.
  if (replied_ || std::uncaught_exceptions() <= uncaught_at_start_)
    return;
  try {
    reply_exception("exception in a continuation");
  } catch (...) {
    // Nothing may leave a destructor during unwinding; the responder's
    // own 503 answers the client.
  }
}

void request_context::reply_exception(const std::string& what) {
  if (replied_)
    return;
  auto& batch = self->state.metrics_batch;
  if (batch.empty())
    self->send(self, atom::flush_atom_v);
  batch.push_back(metrics::inc("http_handler_exceptions_total", {route}));
  log_fields["exception"] = true;
  reply_internal(what);
}

namespace {

/// An exception that escaped a continuation reaches CAF: only one not made
/// through safe_request (actors/safe_request.hpp) can, and scripts/tidy.sh
/// refuses those in the fronts and flows. The context already answered 500
/// (its destructor); this logs it and sends that request's metrics. CAF
/// 0.17.6 still ends the front afterwards, and the supervisor puts a new
/// one in its slot.
caf::error keep_serving(http_front_actor::stateful_pointer<front_state> self,
                        std::exception_ptr& x) {
  std::string what = "unknown exception";
  try {
    if (x)
      std::rethrow_exception(x);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    // keep the generic text
  }
  log::error("http", "handler-exception",
             {{"error", what}, {"action", "answered 500, front kept"}});
  // The flush_atom the unwinding reply sent to this actor never arrived in
  // the drills (tests/integration/test_supervision.py): send the batch of
  // that request's metrics from here.
  auto& batch = self->state.metrics_batch;
  if (!batch.empty()) {
    caf::anon_send(self->state.svc.metrics, std::move(batch));
    batch = {};
  }
  return caf::error{};
}

} // namespace

bool request_context::owner_answered(std::uint64_t call) {
  if (owner_call != call)
    return false;
  if (replied_) {
    owner_call = 0;
    on_owner_timeout = nullptr;
    return false;
  }
  if (svc().clock->steady_ns() >= owner_deadline_ns) {
    owner_timed_out();
    return false;
  }
  owner_call = 0;
  on_owner_timeout = nullptr;
  return true;
}

void request_context::owner_timed_out() {
  owner_call = 0;
  auto on_timeout = std::move(on_owner_timeout);
  on_owner_timeout = nullptr;
  if (on_timeout) {
    // As guarded(): an escaping exception becomes a 500.
    try {
      on_timeout();
    } catch (const std::exception& e) {
      reply_exception(e.what());
    } catch (...) {
      reply_exception("unknown exception");
    }
  } else {
    log_fields["cause"] = "owner timeout";
    reply_error("service_unavailable");
  }
}

void request_context::reply(http::response r) {
  if (replied_)
    return;
  replied_ = true;
  const auto& c = cfg();
  r.set_header("X-Request-ID", request_id);
  // Admission control (issue 15): every 503 says when to come back, also
  // those flows map from db::store_errc::unavailable themselves.
  if (r.status == 503 && r.header("Retry-After").empty())
    r.set_header("Retry-After", "1");
  for (const auto& h : extra_headers)
    r.set_header(h.name, h.value);
  http::apply_security_headers(r, https, c.server.hsts_max_age);
  self->state.cors.decorate(req, r);
  if (r.header("Content-Type").empty() && !r.body.empty())
    r.set_header("Content-Type", "application/json; charset=utf-8");
  if (req.method == "HEAD")
    r.head = true;
  http::maybe_compress(req, r);
  auto seconds
      = static_cast<double>(svc().clock->steady_ns() - req.received_ns) / 1e9;
  auto method = method_label(req.method);
  auto status = std::to_string(r.status);
  auto& batch = self->state.metrics_batch;
  if (batch.empty())
    self->send(self, atom::flush_atom_v);
  batch.push_back(
      metrics::inc("http_requests_total", {method, route, std::move(status)}));
  batch.push_back(metrics::observe("http_request_duration_seconds", seconds,
                                   {method, route}));
  auto level = r.status >= 500 ? spdlog::level::err : spdlog::level::info;
  if (log::enabled(level)) {
    // Route templates only: a raw target may carry tokens in its query.
    nlohmann::json f = {{"request_id", request_id},
                        {"method", method},
                        {"route", route},
                        {"status", r.status},
                        {"duration_ms", seconds * 1000.0},
                        {"bytes", r.body.size()},
                        {"ip", client_ip}};
    if (!auth.user_id.empty())
      f["user_id"] = auth.user_id;
    for (auto it = log_fields.begin(); it != log_fields.end(); ++it)
      f[it.key()] = it.value();
    log::event(level, "http", "request", f);
  }
  out->reply(std::move(r));
}

void request_context::reply_json(std::uint16_t status,
                                 const nlohmann::json& body) {
  reply(http::json_response(status, body));
}

void request_context::reply_error(const http::api_error& e) {
  auto r = http::error_response(e, request_id);
  if (r.status == 401)
    r.set_header("WWW-Authenticate", "Bearer");
  reply(std::move(r));
}

void request_context::reply_error(std::string code, std::string message,
                                  nlohmann::json details) {
  reply_error(http::api_error{std::move(code), std::move(message),
                              std::move(details), 0});
}

void request_context::reply_internal(const std::string& cause) {
  log_fields["cause"] = cause;
  reply_error("internal_error");
}

void request_context::reply_failure(const caf::error& e) {
  if (e == caf::sec::request_timeout || e == caf::sec::request_receiver_down) {
    log_fields["cause"] = caf::to_string(e);
    return reply_error("service_unavailable");
  }
  if (e == db::store_errc::unavailable)
    return reply_retry_later(*this, "database unavailable");
  if (e == caf::sec::runtime_error) {
    // An exception left a continuation (actors/safe_request.hpp), or an
    // owner's handler threw: a handler exception of this route.
    auto what = caf::to_string(e);
    log::error("http", "handler-exception",
               {{"error", what}, {"action", "answered 500, front kept"}});
    return reply_exception(what);
  }
  reply_internal(caf::to_string(e));
}

void request_context::audit(std::string type, bool success,
                            const std::string& user_id, std::string email,
                            const nlohmann::json& metadata) {
  requester who;
  who.ip = client_ip;
  who.user_agent = http_routes::stored_user_agent(req.header("User-Agent"));
  who.request_id = request_id;
  who.actor = actor;
  who.user_id = auth.user_id;
  authsvc::audit(svc(), who, std::move(type), success, user_id,
                 std::move(email), metadata);
}

std::optional<nlohmann::json> request_context::json_body() {
  auto b = http::parse_json_body(req);
  if (b.error) {
    reply_error(*b.error);
    return std::nullopt;
  }
  return std::move(b.value);
}

http_front_actor::behavior_type
http_front_impl(http_front_actor::stateful_pointer<front_state> self,
                services svc) {
  self->state.cors = http::cors_policy(svc.cfg->server.cors_origins);
  // Config validation already proved these lists parse.
  auto parse = [](const std::vector<std::string>& xs) {
    return auth::parse_cidr_list(xs, nullptr)
        .value_or(std::vector<auth::cidr_block>{});
  };
  self->state.trust.trusted_proxies = parse(svc.cfg->server.trusted_proxies);
  self->state.trust.mode = svc.cfg->server.forwarded_header == "forwarded"
                               ? auth::forwarded_header_mode::forwarded
                               : auth::forwarded_header_mode::x_forwarded_for;
  self->state.ip_rules = auth::ip_filter(parse(svc.cfg->server.ip_allow),
                                         parse(svc.cfg->server.ip_deny));
  self->state.blocked_audit
      = std::make_shared<auth::rate_limiter>(auth::rate_policy{1, 60}, 10'000);
  self->state.svc = std::move(svc);
  self->set_exception_handler(
      [self](std::exception_ptr& x) { return keep_serving(self, x); });
  if (self->state.svc.ip_filters)
    self->send(self->state.svc.ip_filters, atom::subscribe_atom_v,
               caf::actor_cast<ip_rules_sink>(self));
  self->delayed_send(self, std::chrono::seconds(1), atom::tick_atom_v);
  return {
      [=](http::request& req, http::responder_ptr& out) {
        auto ctx = std::make_shared<request_context>(self, std::move(req),
                                                     std::move(out));
        guarded(ctx, [&] { dispatch(ctx); });
      },
      [=](ip_rules_snapshot& snap) {
        auto parse = [](const std::vector<std::string>& xs) {
          return auth::parse_cidr_list(xs, nullptr)
              .value_or(std::vector<auth::cidr_block>{});
        };
        self->state.ip_rules
            = auth::ip_filter(parse(snap.allow), parse(snap.deny));
      },
      [=](atom::tick_atom) {
        auto& st = self->state;
        expire_pending(st, st.svc.clock->steady_ns());
        if (++st.ticks % 30 == 0 && st.svc.ip_ceiling) {
          auto now = st.svc.clock->steady_ns() / 1000;
          st.svc.ip_ceiling->sweep(now);
          if (st.svc.ip_ceiling_audit)
            st.svc.ip_ceiling_audit->sweep(now);
        }
        self->delayed_send(self, std::chrono::seconds(1), atom::tick_atom_v);
      },
      [=](atom::flush_atom) {
        auto& batch = self->state.metrics_batch;
        if (batch.empty())
          return;
        caf::anon_send(self->state.svc.metrics, std::move(batch));
        batch = {};
      },
  };
}

} // namespace authsvc
