#include "mail/transport.hpp"

#include "mail/mime.hpp"

namespace authsvc::mail {

const char* to_string(send_status status) {
  switch (status) {
  case send_status::ok:
    return "ok";
  case send_status::temporary_failure:
    return "temporary_failure";
  case send_status::permanent_failure:
    return "permanent_failure";
  }
  return "unknown";
}

std::vector<send_result>
transport::send_batch(const std::vector<outgoing>& batch) {
  std::vector<send_result> out;
  out.reserve(batch.size());
  for (const auto& m : batch)
    out.push_back(send(m.env, m.message));
  return out;
}

std::string check_envelope(const envelope& env) {
  if (!is_valid_address(env.mail_from))
    return "envelope sender is not a valid address";
  if (env.recipients.empty())
    return "envelope has no recipients";
  for (const auto& r : env.recipients)
    if (!is_valid_address(r))
      return "envelope recipient is not a valid address";
  return {};
}

} // namespace authsvc::mail
