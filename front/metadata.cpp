#include "front/metadata.hpp"

namespace authsvc::http_routes::metadata {

namespace {

namespace users = db::users_store;

/// Whether `j` nests deeper than `limit` levels (an object or array is one
/// level). Iterative so a hostile document cannot exhaust the stack.
bool deeper_than(const nlohmann::json& j, int limit) {
  std::vector<std::pair<const nlohmann::json*, int>> todo{{&j, 1}};
  while (!todo.empty()) {
    auto [x, depth] = todo.back();
    todo.pop_back();
    if (!x->is_structured())
      continue;
    if (depth > limit)
      return true;
    for (const auto& child : *x)
      todo.emplace_back(&child, depth + 1);
  }
  return false;
}

} // namespace

std::optional<std::string> read_change(const nlohmann::json& body,
                                       const char* field,
                                       field_errors& errors) {
  auto it = body.find(field);
  if (it == body.end())
    return std::nullopt;
  if (!it->is_object()) {
    errors.add(field, "must be a JSON object");
    return std::nullopt;
  }
  if (deeper_than(*it, max_depth)) {
    errors.add(field, "must not nest deeper than " + std::to_string(max_depth)
                          + " levels");
    return std::nullopt;
  }
  auto text = it->dump();
  if (text.size() > max_bytes) {
    errors.add(field, "must be at most " + std::to_string(max_bytes)
                          + " bytes serialised");
    return std::nullopt;
  }
  return text;
}

std::string too_large_code(users::metadata_column column) {
  switch (column) {
  case users::metadata_column::user:
    return "user_metadata_too_large";
  case users::metadata_column::app:
    return "app_metadata_too_large";
  }
  return "user_metadata_too_large";
}

bool reply_if_too_large(const context_ptr& ctx, const db::unit_result& r) {
  const char* field = nullptr;
  if (r.fail_code == too_large_code(users::metadata_column::user))
    field = "user_metadata";
  else if (r.fail_code == too_large_code(users::metadata_column::app))
    field = "app_metadata";
  if (r.ok || !field)
    return false;
  field_errors errors;
  errors.add(field, "must be at most " + std::to_string(max_bytes)
                        + " bytes serialised after the merge");
  return errors.reply_if_any(ctx);
}

void append_merge(db::unit& u, const std::string& user_id,
                  users::metadata_column column, const std::string& change,
                  std::int64_t now) {
  u.statements.push_back(users::merge_metadata(user_id, column, change, now));
  u.statements.push_back(users::metadata_fits(
      user_id, column, static_cast<std::int64_t>(max_bytes),
      too_large_code(column)));
}

nlohmann::json parse_stored(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

nlohmann::json user_json_with(const user_info& u,
                              const users::user_metadata_record& m) {
  auto j = user_json(u);
  j["user_metadata"] = parse_stored(m.user_metadata);
  j["app_metadata"] = parse_stored(m.app_metadata);
  return j;
}

void check_display_name(const std::optional<std::string>& name,
                        field_errors& errors) {
  if (!name)
    return;
  for (unsigned char c : *name)
    if (c < 0x20 || c == 0x7F)
      return errors.add("display_name", "must not contain control characters");
}

} // namespace authsvc::http_routes::metadata
