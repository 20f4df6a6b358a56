#include "actors/logout_flow.hpp"

#include "db/webauthn_store.hpp"

namespace authsvc::logout_detail {

namespace {

void audit(const services& svc, const logout_input& in, std::string type,
           const nlohmann::json& metadata) {
  audit_event e;
  e.type = std::move(type);
  e.success = true;
  e.user_id = in.auth.user_id;
  e.ip = in.ip;
  e.user_agent = in.user_agent;
  e.request_id = in.request_id;
  e.actor = in.actor;
  e.metadata
      = metadata.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  caf::anon_send(svc.auditor, std::move(e));
}

} // namespace

field_problems parse(const nlohmann::json& body, logout_input& in) {
  field_problems out;
  if (auto it = body.find("scope"); it != body.end() && !it->is_null()) {
    if (!it->is_string())
      out.emplace_back("scope", "must be a string");
    else if (it->get_ref<const std::string&>().size() > 16)
      out.emplace_back("scope", "must be at most 16 characters");
    else
      in.scope = it->get<std::string>();
  }
  if (in.scope != "local" && in.scope != "others" && in.scope != "global")
    out.emplace_back("scope", "must be local, others or global");
  if (auto it = body.find("remove_recent_factors_hours");
      it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1
        || it->get<std::int64_t>() > max_remove_hours)
      out.emplace_back("remove_recent_factors_hours",
                       "must be an integer from 1 to 720");
    else if (in.scope != "global")
      out.emplace_back("remove_recent_factors_hours", "needs scope global");
    else
      in.remove_hours = it->get<std::int64_t>();
  }
  return out;
}

revocation plan_revocation(const logout_input& in) {
  revocation rv;
  rv.session_id = in.scope == "local" ? in.auth.session_id : std::string();
  rv.user_id = in.auth.user_id;
  rv.except_session = in.scope == "others" ? in.auth.session_id : std::string();
  rv.reason = "logout_" + in.scope;
  rv.ip = in.ip;
  rv.user_agent = in.user_agent;
  rv.request_id = in.request_id;
  rv.actor = in.actor;
  return rv;
}

db::unit plan_factor_removal(const std::string& user_id, std::int64_t since) {
  return db::webauthn_store::remove_factors_since(user_id, since);
}

void audit_logout(const services& svc, const logout_input& in,
                  std::int32_t revoked) {
  audit(svc, in, "session.logout", {{"scope", in.scope}, {"revoked", revoked}});
}

void finish_factor_removal(const services& svc, const logout_input& in,
                           const db::unit_result& r, logout_outcome& out) {
  auto removed = db::webauthn_store::decode_removed_factors(r);
  for (const auto& id : removed.credential_ids)
    audit(svc, in, "passkey.deleted",
          {{"credential_id", id}, {"reason", "logout_global_recent"}});
  out.factors_checked = true;
  out.removed_passkeys = removed.credential_ids.size();
  out.removed_totp = removed.totp;
  if (out.removed_totp)
    audit(svc, in, "totp.disabled", {{"reason", "logout_global_recent"}});
}

} // namespace authsvc::logout_detail
