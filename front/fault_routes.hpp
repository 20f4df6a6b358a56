#pragma once
// Fault injection for the reliability drills (issue 15): an admin route that
// exists only when `admin.fault_injection` is on (off by default; a startup
// warning says it is on). docs/reliability.md says why it cannot be abused in
// production: it needs the flag, an admin key, and a loopback client.
#include "front/http_front.hpp"

namespace authsvc::http_routes {

/// Handles POST /v1/admin/faults `{"fault": "throw" | "throw_async" |
/// "kill", "actor"?}`: throws in the handler, throws in a continuation (after
/// an owner answered), or kills a top-level actor as a crash would.
void admin_faults(const context_ptr& ctx);

} // namespace authsvc::http_routes
