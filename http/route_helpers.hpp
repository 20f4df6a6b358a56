#pragma once
// Small pieces the route handlers share: JSON forms of users and token
// responses, and field validation that collects every problem for a 422.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/http_front.hpp"
#include "actors/messages.hpp"

namespace authsvc::http_routes {

nlohmann::json user_json(const user_info& u);

nlohmann::json token_json(const token_response& t);

/// Answers a token result: 200 with no-store, or its error code.
void reply_tokens(const context_ptr& ctx, const token_result& r);

/// Collects field problems; answers 422 validation_failed when any.
class field_errors {
public:
  /// A required (or optional) string field of at most `max` characters.
  std::optional<std::string> string(const nlohmann::json& body,
                                    const std::string& name, bool required,
                                    std::size_t max);
  void add(const std::string& field, const std::string& problem) {
    details_[field] = problem;
  }
  bool any() const { return !details_.empty(); }
  /// Replies 422 with the collected details. @returns true if it replied.
  bool reply_if_any(const context_ptr& ctx);

private:
  nlohmann::json details_ = nlohmann::json::object();
};

/// A revocation stamped with the request's ip, user agent, id and actor.
revocation make_revocation(const context_ptr& ctx, std::string session_id,
                           std::string user_id, std::string except_session,
                           std::string reason);

/// The request's User-Agent cut to a sane length.
std::string user_agent(const context_ptr& ctx);

/// Seconds since the epoch.
std::int64_t unix_now();

/// Maps a failed DB unit to the client-facing code, logging the unexpected.
void reply_db_failure(const context_ptr& ctx, const db::unit_result& r,
                      const std::string& fallback_code);

}  // namespace authsvc::http_routes
