#include "front/fault_routes.hpp"

#include <stdexcept>

#include "actors/safe_request.hpp"
#include "auth/ip_address.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::http_routes {

namespace {

/// The transport's peer, not a forwarded address: a proxy in front does not
/// make a remote client local.
bool from_loopback(const context_ptr& ctx) {
  auto ip = auth::ip_address::parse(ctx->req.peer);
  if (!ip)
    return false;
  auto plain = ip->unmapped();
  if (plain.is_v4())
    return plain.v4_octets()[0] == 127;
  return plain == *auth::ip_address::parse("::1");
}

} // namespace

void admin_faults(const context_ptr& ctx) {
  if (!ctx->cfg().admin.fault_injection || !from_loopback(ctx))
    return ctx->reply_error("not_found");
  auto body = ctx->json_body();
  if (!body)
    return;
  field_errors errs;
  auto fault = errs.string(*body, "fault", true, 32);
  auto actor = errs.string(*body, "actor", false, 64);
  if (fault && *fault != "throw" && *fault != "throw_async" && *fault != "kill")
    errs.add("fault", "must be throw, throw_async or kill");
  if (fault && *fault == "kill" && !actor)
    errs.add("actor", "required for kill");
  if (errs.reply_if_any(ctx))
    return;
  ctx->audit("admin.fault_injected", true, {}, {},
             {{"fault", *fault}, {"actor", actor.value_or("")}});
  if (*fault == "throw")
    throw std::runtime_error("fault injection: handler throw");
  if (*fault == "throw_async") {
    // Throws after an owner answered: CAF runs this continuation, not
    // guarded(); safe_request hands the exception to the error handler, so
    // the front answers 500 and lives on (a plain request would end it).
    safe_request(ctx->self, ctx->svc().db, owner_timeout, atom::status_atom_v)
        .then(
            [ctx](db::status&) {
              throw std::runtime_error("fault injection: continuation throw");
            },
            [ctx](caf::error& e) { ctx->reply_failure(e); });
    return;
  }
  if (!ctx->svc().supervisor)
    return ctx->reply_error("not_found");
  safe_request(ctx->self, ctx->svc().supervisor, owner_timeout,
               atom::kill_atom_v, *actor)
      .then(
          [ctx, name = *actor](bool killed) {
            if (!killed)
              return ctx->reply_error("not_found");
            ctx->reply_json(202, {{"killed", name}});
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

} // namespace authsvc::http_routes
