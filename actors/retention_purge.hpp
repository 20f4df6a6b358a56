#pragma once
// Periodic deletion of finished rows by the actor that owns the table (the
// mailer for mail_jobs, the webhook actor for webhook_deliveries): one
// statement per run, then the next run an hour later. A run that failed
// (the database not ready yet at start, busy, or full) is tried again after
// a second instead.
#include <chrono>
#include <cstdint>
#include <string>

#include "actors/type_ids.hpp"
#include "core/log.hpp"
#include "db/value.hpp"

namespace authsvc {

struct retention_purge {
  const char* component;  ///< logger name
  const char* done_event; ///< e.g. "mail-jobs-purged"
  const char* fail_event; ///< e.g. "mail-purge-failed"
  std::int64_t retention_days;
};

/// Runs `delete_stmt` through `db` and schedules the next `purge_atom` to
/// `self`. @pre `self`'s interface takes `atom::purge_atom`.
template <class Self, class Db>
void run_retention_purge(Self self, const Db& db, db::statement delete_stmt,
                         retention_purge what) {
  db::unit u;
  u.statements.push_back(std::move(delete_stmt));
  self->request(db, std::chrono::seconds(30), atom::write_atom_v, std::move(u))
      .then(
          [self, what](db::unit_result& r) {
            if (!r.ok || r.results.empty()) {
              log::warn(what.component, what.fail_event,
                        {{"code", r.fail_code}});
              self->delayed_send(self, std::chrono::seconds(1),
                                 atom::purge_atom_v);
              return;
            }
            self->delayed_send(self, std::chrono::hours(1), atom::purge_atom_v);
            auto n = r.results[0].changes;
            log::event(
                n > 0 ? spdlog::level::info : spdlog::level::debug,
                what.component, what.done_event,
                {{"deleted", n}, {"retention_days", what.retention_days}});
          },
          [self, what](caf::error& e) {
            self->delayed_send(self, std::chrono::seconds(1),
                               atom::purge_atom_v);
            log::warn(what.component, what.fail_event,
                      {{"error", caf::to_string(e)}});
          });
}

} // namespace authsvc
