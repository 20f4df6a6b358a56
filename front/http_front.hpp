#pragma once
// HTTP front actors: a small pool that receives one message per request from
// the transport, applies the shared middleware, routes, and lets a thin
// handler translate the request into messages for the owning actors. Each
// request lives in a request_context that the handler's continuations keep
// alive until they reply.
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/safe_request.hpp"
#include "actors/services.hpp"
#include "auth/client_ip.hpp"
#include "auth/ip_filter.hpp"
#include "auth/rate_limiter.hpp"
#include "actors/type_ids.hpp"
#include "front/errors.hpp"
#include "front/front_type_ids.hpp"
#include "http/message.hpp"
#include "front/middleware.hpp"
#include "front/router.hpp"

namespace authsvc {

using http_front_actor
    = caf::typed_actor<caf::reacts_to<http::request, http::responder_ptr>,
                       /// New IP rules from the IP filter owner.
                       caf::reacts_to<ip_rules_snapshot>,
                       /// Internal: answers owner calls past their deadline.
                       caf::reacts_to<atom::tick_atom>,
                       /// Internal: sends the batched request metrics.
                       caf::reacts_to<atom::flush_atom>>;

struct request_context;
using context_ptr = std::shared_ptr<request_context>;

/// A route handler: translates the request, asks owners, replies once.
using handler_fn = void (*)(const context_ptr&);

/// How the front actor guards a route before its handler runs.
enum class route_guard : std::uint8_t {
  none,   ///< public
  ops,    ///< operations route (may be exempt from IP filters)
  user,   ///< needs a valid access token of a live session
  recent, ///< like user, and a sign-in at most auth.reauth_max_age old
  admin,  ///< needs an admin API key; every call is audited with its id
};

struct route_entry {
  handler_fn handler;
  route_guard guard = route_guard::none;
  const char* rate_class = nullptr; ///< rate-limit class, if any
};

/// Every route the service answers (front/routes.cpp).
const http::router<route_entry>& route_table();

struct front_state {
  static inline const char* name = "authsvc.http-front";
  services svc;
  http::cors_policy cors;
  auth::proxy_trust trust;
  /// Rules from config (and, once loaded, from the ip_filters table).
  auth::ip_filter ip_rules;
  /// Lets one ip.blocked audit event per address a minute through.
  std::shared_ptr<auth::rate_limiter> blocked_audit;
  /// Hot-path owner calls in flight (see ask_owner): one deadline per call,
  /// swept by a tick every second, instead of a timer event per request in
  /// CAF's clock thread.
  struct pending_call {
    std::int64_t deadline_ns;
    std::uint64_t call; ///< the ask_owner call's id
    std::weak_ptr<request_context> ctx;
  };
  std::deque<pending_call> pending;
  std::uint64_t next_call = 0;
  /// Request metrics not yet sent to the metrics actor. The first sample of
  /// a batch sends this actor a flush_atom, which queues behind the
  /// requests already in its mailbox: under load one message carries many
  /// requests, when idle it goes out right after the request.
  std::vector<metrics::sample> metrics_batch;
  /// Ticks seen: every 30th sweeps idle keys out of svc.ip_ceiling.
  std::uint64_t ticks = 0;
};

/// How long front actors wait for an owner before answering 503.
inline constexpr std::chrono::seconds owner_timeout{5};

struct request_context {
  // -- constructors -----------------------------------------------------------

  request_context(http_front_actor::stateful_pointer<front_state> s,
                  http::request&& r, http::responder_ptr o);

  /// A context dropped by an exception that escaped one of its
  /// continuations (CAF destroys the handler while unwinding) answers
  /// 500 internal_error, instead of leaving the client a bare 503.
  ~request_context();
  request_context(const request_context&) = delete;
  request_context& operator=(const request_context&) = delete;

  // -- properties -------------------------------------------------------------

  http_front_actor::stateful_pointer<front_state> self;
  http::request req;
  http::responder_ptr out;
  std::string request_id;
  std::string route = "unmatched"; ///< the matched template (metrics, logs)
  http::path_params params;
  std::string client_ip;
  bool https = false;
  /// Extra fields for the access log line (never secrets). Null until the
  /// first field is set (operator[] makes it an object): most requests add
  /// none, and an empty object still costs an allocation.
  nlohmann::json log_fields;
  /// Set for user-guarded routes once the bearer token checked out.
  auth_context auth;
  /// For admin routes: "admin:<key id>" (or "admin:bootstrap").
  std::string actor;
  /// Headers every response to this request carries (e.g. Deprecation).
  std::vector<http::header_field> extra_headers;
  /// A hosted-page sign-in that asked for a browser session (the
  /// `X-PA-Session: cookie` header, front/browser_routes.hpp): its token
  /// response becomes the session cookie instead.
  bool browser_sign_in = false;

  const services& svc() const { return self->state.svc; }
  const config::settings& cfg() const { return *self->state.svc.cfg; }

  // -- replying ---------------------------------------------------------------

  /// Finishes the response (middleware), records it, and sends it. Only the
  /// first call has an effect.
  void reply(http::response r);
  void reply_json(std::uint16_t status, const nlohmann::json& body);
  void reply_error(const http::api_error& e);
  void reply_error(std::string code, std::string message = {},
                   nlohmann::json details = {});
  /// 500 with the cause logged (never sent).
  void reply_internal(const std::string& cause);
  /// 500 for an exception that escaped a handler: counted in
  /// http_handler_exceptions_total and logged with the request id.
  void reply_exception(const std::string& what);
  /// Maps an owner's failure (timeout, down) to 503/500.
  void reply_failure(const caf::error& e);

  // -- request helpers --------------------------------------------------------

  /// Records an audit event with this request's ip, user agent and id.
  /// `metadata` must never hold a secret.
  void audit(std::string type, bool success, const std::string& user_id = {},
             std::string email = {}, const nlohmann::json& metadata = {});

  /// The JSON object body, or nullopt after replying 415/400/422.
  std::optional<nlohmann::json> json_body();

  /// Whether the bearer's sign-in (its token's auth_time) is at most
  /// `auth.reauth_max_age` seconds old: what factor changes need.
  bool recent_sign_in() const;

  bool replied() const { return replied_; }

  /// Id of the ask_owner call in flight; 0 = none.
  std::uint64_t owner_call = 0;
  /// When the call in flight times out (steady clock, nanoseconds).
  std::int64_t owner_deadline_ns = 0;
  /// What the deadline does to the call in flight: empty = answer 503.
  std::function<void()> on_owner_timeout;

  /// First call in every ask_owner continuation (value and error).
  /// An answer that arrives after its deadline is a timeout even when the
  /// once-a-second sweep has not acted yet: the deadline acts now.
  /// @returns false when the answer is stale (the deadline acted: a 503, or
  /// moving on without the owner) or the request was answered, so the
  /// continuation must do nothing.
  bool owner_answered(std::uint64_t call);

  /// The deadline of the call in flight passed: runs `on_owner_timeout`, or
  /// answers 503 when there is none.
  void owner_timed_out();

private:
  bool replied_ = false;
  /// std::uncaught_exceptions() at construction (see the destructor).
  int uncaught_at_start_ = 0;
};

/// Asks an owner on a per-request hot path (rate limits, the token check):
/// like `ctx->self->request(dest, timeout, xs...)`, but the deadline lives in
/// the front actor's `pending` list (swept every second) rather than in a
/// CAF request timer, which costs the clock thread two wake-ups per request
/// (15% of the service's CPU under load, docs/benchmarks.md). At the
/// deadline `ctx->on_owner_timeout` runs, or a 503 is answered when it is
/// empty. @returns the call id and the response handle; both continuations
/// must start with `if (!ctx->owner_answered(call)) return;`. One call at a
/// time per request.
template <class Handle, class... Ts>
auto ask_owner(const context_ptr& ctx, std::chrono::milliseconds timeout,
               const Handle& dest, Ts&&... xs);

/// Runs `f` and turns an escaping exception into a 500 for this request.
template <class F>
void guarded(const context_ptr& ctx, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    ctx->reply_exception(e.what());
  } catch (...) {
    ctx->reply_exception("unknown exception");
  }
}

template <class Handle, class... Ts>
auto ask_owner(const context_ptr& ctx, std::chrono::milliseconds timeout,
               const Handle& dest, Ts&&... xs) {
  auto& st = ctx->self->state;
  auto deadline
      = st.svc.clock->steady_ns()
        + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  // Finished calls at the head go at once, so the list stays short.
  while (!st.pending.empty() && st.pending.front().ctx.expired())
    st.pending.pop_front();
  auto call = ++st.next_call;
  ctx->owner_call = call;
  ctx->owner_deadline_ns = deadline;
  st.pending.push_back({deadline, call, ctx});
  return std::make_pair(call, safe_request(ctx->self, dest, caf::infinite,
                                           std::forward<Ts>(xs)...));
}

http_front_actor::behavior_type
http_front_impl(http_front_actor::stateful_pointer<front_state> self,
                services svc);

} // namespace authsvc
