#include "actors/requester.hpp"

namespace authsvc {

void audit(const services& svc, const requester& who, std::string type,
           bool success, const std::string& user_id, std::string email,
           const nlohmann::json& metadata) {
  audit_event e;
  e.type = std::move(type);
  e.success = success;
  e.user_id = user_id.empty() ? who.user_id : user_id;
  e.email = std::move(email);
  e.ip = who.ip;
  e.user_agent = who.user_agent;
  e.request_id = who.request_id;
  e.actor = who.actor;
  if (!metadata.is_null())
    e.metadata = metadata.dump(-1, ' ', false,
                               nlohmann::json::error_handler_t::replace);
  caf::anon_send(svc.auditor, std::move(e));
}

new_session sign_in_request(const requester& who, user_info user,
                            const char* amr) {
  new_session s;
  s.user = std::move(user);
  s.amr = {amr};
  s.ip = who.ip;
  s.user_agent = who.user_agent;
  s.reauth_token = who.reauth_token;
  return s;
}

void note(const requester& who, const std::string& key,
          const std::string& value) {
  if (who.note)
    who.note(key, value);
}

} // namespace authsvc
