// `passwordless-auth audit export`: the audit trail as JSON lines.
#include <ostream>

#include <nlohmann/json.hpp>

#include "db/audit_store.hpp"
#include "src/cli.hpp"

namespace authsvc::cli {

int export_audit(const config::settings& cfg, std::int64_t since,
                 std::int64_t until, std::ostream& out) {
  auto ex = open_db(cfg);
  auto rows = db::audit_store::decode_events(
      ex->query(db::audit_store::export_range(since, until)));
  for (const auto& r : rows) {
    auto text = [](const std::optional<std::string>& v) -> nlohmann::json {
      return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    };
    auto meta = nlohmann::json::parse(r.metadata, nullptr, false);
    nlohmann::json line
        = {{"id", std::to_string(r.id)},
           {"type", r.type},
           {"created_at", r.created_at},
           {"user_id", text(r.user_id)},
           {"email", text(r.email)},
           {"ip", text(r.ip)},
           {"user_agent", text(r.user_agent)},
           {"request_id", text(r.request_id)},
           {"actor", text(r.actor)},
           {"success", r.success},
           {"metadata", meta.is_object() ? meta : nlohmann::json::object()}};
    out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
  }
  return 0;
}

} // namespace authsvc::cli
