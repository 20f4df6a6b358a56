#pragma once
// The service's type-ID block: every atom and message type its actors
// exchange. Atom texts stay within CAF 0.17's ten characters. The HTTP
// message types the front actors receive from the transport have their own
// block after this one (front/front_type_ids.hpp), so actors/ needs no http/.
#include <caf/all.hpp>
#include <caf/type_id.hpp>

#include "core/metrics_registry.hpp"
#include "actors/messages.hpp"
#include "actors/browser_messages.hpp"
#include "actors/oauth_messages.hpp"
#include "db/value.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(authsvc, caf::first_custom_type_id)

  // -- database --------------------------------------------------------------
  CAF_ADD_TYPE_ID(authsvc, (authsvc::db::value))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::db::statement))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::db::unit))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::db::rowset))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::db::unit_result))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::db::status))

  // -- metrics ---------------------------------------------------------------
  CAF_ADD_TYPE_ID(authsvc, (authsvc::metrics::sample))

  // -- sessions and tokens ---------------------------------------------------
  CAF_ADD_TYPE_ID(authsvc, (authsvc::user_info))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::token_response))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::token_result))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::new_session))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::refresh_request))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::auth_context))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::auth_result))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::session_view))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::revocation))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::mailer_status))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::audit_event))

  // -- defences (rate limits, IP rules) --------------------------------------
  CAF_ADD_TYPE_ID(authsvc, (authsvc::rate_request))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::rate_verdict))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::ip_rules_snapshot))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::shared_limit_call))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::shared_limit_reply))

  // -- atoms for the database ------------------------------------------------
  CAF_ADD_ATOM(authsvc, authsvc::atom, query_atom, "query")
  CAF_ADD_ATOM(authsvc, authsvc::atom, write_atom, "write")
  CAF_ADD_ATOM(authsvc, authsvc::atom, commit_atom, "commit")
  CAF_ADD_ATOM(authsvc, authsvc::atom, status_atom, "status")
  CAF_ADD_ATOM(authsvc, authsvc::atom, migrate_atom, "migrate")

  // -- atoms for metrics and timers ------------------------------------------
  CAF_ADD_ATOM(authsvc, authsvc::atom, render_atom, "render")
  CAF_ADD_ATOM(authsvc, authsvc::atom, tick_atom, "tick")

  // -- atoms for sessions ----------------------------------------------------
  CAF_ADD_ATOM(authsvc, authsvc::atom, refresh_atom, "refresh")
  CAF_ADD_ATOM(authsvc, authsvc::atom, verify_atom, "verify")
  CAF_ADD_ATOM(authsvc, authsvc::atom, revoke_atom, "revoke")
  CAF_ADD_ATOM(authsvc, authsvc::atom, list_atom, "list")
  CAF_ADD_ATOM(authsvc, authsvc::atom, jwks_atom, "jwks")
  CAF_ADD_ATOM(authsvc, authsvc::atom, rotate_atom, "rotate")
  CAF_ADD_ATOM(authsvc, authsvc::atom, id_key_atom, "idkey")
  CAF_ADD_ATOM(authsvc, authsvc::atom, load_atom, "load")
  CAF_ADD_ATOM(authsvc, authsvc::atom, ready_atom, "ready")
  CAF_ADD_ATOM(authsvc, authsvc::atom, wake_atom, "wake")
  CAF_ADD_ATOM(authsvc, authsvc::atom, lookup_atom, "lookup")
  CAF_ADD_ATOM(authsvc, authsvc::atom, deliver_atom, "deliver")

  // -- atoms for the audit trail ---------------------------------------------
  CAF_ADD_ATOM(authsvc, authsvc::atom, flush_atom, "flush")
  CAF_ADD_ATOM(authsvc, authsvc::atom, subscribe_atom, "subscribe")
  CAF_ADD_ATOM(authsvc, authsvc::atom, unsub_atom, "unsub")
  CAF_ADD_ATOM(authsvc, authsvc::atom, purge_atom, "purge")

  // -- atoms for defences ----------------------------------------------------
  CAF_ADD_ATOM(authsvc, authsvc::atom, limit_atom, "limit")
  CAF_ADD_ATOM(authsvc, authsvc::atom, reload_atom, "reload")

  // -- supervision (issue 15) ------------------------------------------------
  CAF_ADD_TYPE_ID(authsvc, (authsvc::supervised_child))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::supervision_report))
  CAF_ADD_ATOM(authsvc, authsvc::atom, kill_atom, "kill")

  // -- browser sessions (issue 16) -------------------------------------------
  CAF_ADD_TYPE_ID(authsvc, (authsvc::browser_bind))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::browser_lookup))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::browser_result))
  // -- OpenID Provider (issue 16) ---------------------------------------------
  CAF_ADD_TYPE_ID(authsvc, (authsvc::token_owner_query))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::token_owner))
  // -- mail workers (issue 13: batches) ---------------------------------------
  CAF_ADD_TYPE_ID(authsvc, (authsvc::mail_delivery))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::mail_delivery_result))

CAF_END_TYPE_ID_BLOCK(authsvc)

namespace authsvc {

/// Registers every message type of the service's actors (main and test
/// fixtures; the front's types: register_front_types).
void register_types(caf::actor_system_config& cfg);

} // namespace authsvc
