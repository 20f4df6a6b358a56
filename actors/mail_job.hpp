#pragma once
// Queuing a mail: one new row in the durable mail queue, meant to go into
// the same unit as the change the mail reports (a flow, a new passkey, a
// revocation), so that the mail exists exactly when the change does. The
// mailer renders the template when the job is due; the caller wakes it
// after the unit committed.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/services.hpp"
#include "db/value.hpp"

namespace authsvc {

struct mail_request {
  std::string to;            ///< normalised address
  std::string template_name; ///< a message of mail/template_set.hpp
  std::string locale;        ///< already chosen (mail::choose_locale)
  nlohmann::json vars;       ///< template variables (app_name is added later)
};

/// The statement that queues one mail job. The variables are sealed with the
/// payload key because some (a sign-in link and code) are secrets; the
/// Message-ID is fixed now so that every retry of the job carries the same one.
db::statement mail_job_insert(const services& svc, const mail_request& m,
                              std::int64_t now);

/// The same for an owner without the services bundle (the session actor
/// queues its eviction notice with its own configuration and keys).
db::statement mail_job_insert(const config::settings& cfg, const key_ring& keys,
                              const mail_request& m, std::int64_t now);

} // namespace authsvc
