#pragma once
// The two metadata documents of an account (issue #17): user_metadata, which
// the user edits through PATCH /v1/me, and app_metadata, which only the admin
// API sets. What a change may hold (a JSON object, bounded in size and
// depth) and how both documents appear in the user JSON.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "db/users_store.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::http_routes::metadata {

/// The most a document may hold, serialised as stored (compact JSON, UTF-8
/// bytes); a change is refused when it or its merged result is larger.
constexpr std::size_t max_bytes = 8192;

/// The deepest nesting a change may have. SQLite's JSON functions stop at
/// 1000 levels with an error, so the bound is ours and small: metadata is
/// flat in practice, and a shallow bound keeps every parser cheap.
constexpr int max_depth = 32;

/// The change in `body[field]`, serialised: nullopt when the field is
/// absent, or when it is not a JSON object within max_bytes and max_depth
/// (then the problem is recorded in `errors`).
std::optional<std::string> read_change(const nlohmann::json& body,
                                       const char* field, field_errors& errors);

/// The unit fail code metadata_fits uses for `column` (the merged document
/// is over max_bytes), so the handler can name the field in its 422.
std::string too_large_code(db::users_store::metadata_column column);

/// Answers 422 validation_failed naming the field when the unit `r` failed
/// because a merged document was over max_bytes. @returns true if it replied.
bool reply_if_too_large(const context_ptr& ctx, const db::unit_result& r);

/// Appends to `u` the merge of `change` into `column` of user `user_id` and
/// the check that the result fits.
void append_merge(db::unit& u, const std::string& user_id,
                  db::users_store::metadata_column column,
                  const std::string& change, std::int64_t now);

/// A stored document as JSON: an empty object for anything that is not an
/// object (a column never holds one, but the reader does not trust it).
nlohmann::json parse_stored(const std::string& text);

/// The user JSON of GET /v1/me with both documents.
nlohmann::json user_json_with(const user_info& u,
                              const db::users_store::user_metadata_record& m);

/// The problem with a display name, if any: longer than 100 characters
/// (checked by field_errors), or holding control characters.
void check_display_name(const std::optional<std::string>& name,
                        field_errors& errors);

} // namespace authsvc::http_routes::metadata
