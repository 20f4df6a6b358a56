#include "front/front_type_ids.hpp"

namespace authsvc {

void register_front_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::authsvc_front>();
}

} // namespace authsvc
