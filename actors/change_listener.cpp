#include "actors/change_listener.hpp"

#include <chrono>
#include <memory>

#include "core/log.hpp"
#include "db/pg_listener.hpp"

namespace authsvc {

change_listener_actor::behavior_type
change_listener_impl(change_listener_actor::pointer self,
                     const change_listener_options& opts,
                     const change_sink& sink) {
  auto conn = std::make_shared<db::pg_listener>(
      opts.url,
      std::vector<std::string>{session_changes_channel, signing_keys_channel});
  self->send(self, atom::tick_atom_v);
  return {
      [=](atom::tick_atom) {
        if (!conn->connected()) {
          if (!conn->ensure_connected()) {
            self->delayed_send(self,
                               std::chrono::milliseconds(opts.reconnect_ms),
                               atom::tick_atom_v);
            return;
          }
          // Whatever was notified while away is lost: catch up by reading.
          log::info("sessions", "change-listener-connected", {});
          self->send(sink, atom::wake_atom_v);
          self->send(sink, atom::reload_atom_v);
        }
        bool lost = false;
        auto notified = conn->poll(lost);
        if (lost)
          log::warn("sessions", "change-listener-lost", {});
        if (notified.count(session_changes_channel))
          self->send(sink, atom::wake_atom_v);
        if (notified.count(signing_keys_channel))
          self->send(sink, atom::reload_atom_v);
        self->delayed_send(self, std::chrono::milliseconds(opts.poll_ms),
                           atom::tick_atom_v);
      },
  };
}

} // namespace authsvc
