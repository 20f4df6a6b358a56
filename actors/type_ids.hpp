#pragma once
// The one type-ID block: every atom and message type the service's actors
// exchange. Atom texts stay within CAF 0.17's ten characters.
#include <caf/all.hpp>
#include <caf/type_id.hpp>

#include "core/metrics_registry.hpp"
#include "db/value.hpp"
#include "http/message.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(authsvc, caf::first_custom_type_id)

  // -- database --------------------------------------------------------------
  CAF_ADD_TYPE_ID(authsvc, (authsvc::db::value))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::db::statement))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::db::unit))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::db::rowset))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::db::unit_result))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::db::status))

  // -- http ------------------------------------------------------------------
  CAF_ADD_TYPE_ID(authsvc, (authsvc::http::header_field))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::http::request))
  CAF_ADD_TYPE_ID(authsvc, (authsvc::http::response))

  // -- metrics ---------------------------------------------------------------
  CAF_ADD_TYPE_ID(authsvc, (authsvc::metrics::sample))

  // -- atoms for the database ------------------------------------------------
  CAF_ADD_ATOM(authsvc, authsvc::atom, query_atom, "query")
  CAF_ADD_ATOM(authsvc, authsvc::atom, write_atom, "write")
  CAF_ADD_ATOM(authsvc, authsvc::atom, commit_atom, "commit")
  CAF_ADD_ATOM(authsvc, authsvc::atom, status_atom, "status")
  CAF_ADD_ATOM(authsvc, authsvc::atom, migrate_atom, "migrate")

  // -- atoms for metrics and timers ------------------------------------------
  CAF_ADD_ATOM(authsvc, authsvc::atom, render_atom, "render")
  CAF_ADD_ATOM(authsvc, authsvc::atom, tick_atom, "tick")

CAF_END_TYPE_ID_BLOCK(authsvc)

// The responder holds a callback into the transport; it never leaves the
// process, so it is the one message type without inspect().
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(authsvc::http::responder_ptr)

namespace authsvc {

/// Registers every message type of the service (main and test fixtures).
void register_types(caf::actor_system_config& cfg);

}  // namespace authsvc
