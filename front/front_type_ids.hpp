#pragma once
// The front's type-ID block: the HTTP message types the transport hands to
// the front actors. It follows the service's block (actors/type_ids.hpp), so
// the actors need no http/ header; register both (register_types and
// register_front_types) wherever front actors run.
#include <caf/all.hpp>
#include <caf/type_id.hpp>

#include "actors/type_ids.hpp"
#include "http/message.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(authsvc_front, caf::id_block::authsvc::end)

  // -- http ------------------------------------------------------------------
  CAF_ADD_TYPE_ID(authsvc_front, (authsvc::http::header_field))
  CAF_ADD_TYPE_ID(authsvc_front, (authsvc::http::request))
  CAF_ADD_TYPE_ID(authsvc_front, (authsvc::http::response))

CAF_END_TYPE_ID_BLOCK(authsvc_front)

// The responder holds a callback into the transport; it never leaves the
// process, so it is the one message type without inspect().
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(authsvc::http::responder_ptr)

namespace authsvc {

/// Registers the front's message types (main and test fixtures that run
/// front actors), after register_types.
void register_front_types(caf::actor_system_config& cfg);

} // namespace authsvc
