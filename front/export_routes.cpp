#include "front/export_routes.hpp"

#include "actors/safe_request.hpp"
#include "db/export_store.hpp"
#include "front/errors.hpp"
#include "front/route_helpers.hpp"

namespace authsvc::http_routes {

namespace {

namespace exports = db::export_store;

/// The format name and version a consumer of the document can check.
constexpr const char* export_format = "passwordless-auth.export.v1";

nlohmann::json field_json(const exports::field& f) {
  switch (f.v.kind) {
  case db::value::int_v:
    return f.v.i;
  case db::value::real_v:
    return f.v.d;
  case db::value::text_v:
    if (f.json) {
      auto j = nlohmann::json::parse(f.v.s, nullptr, false);
      if (!j.is_discarded())
        return j;
    }
    return f.v.s;
  default:
    // NULL (and blobs, which no section selects).
    return nullptr;
  }
}

nlohmann::json row_json(const std::vector<exports::field>& row) {
  auto out = nlohmann::json::object();
  for (const auto& f : row)
    out[f.name] = field_json(f);
  return out;
}

nlohmann::json document(const std::string& user_id,
                        const std::vector<exports::part>& parts,
                        std::int64_t now) {
  nlohmann::json doc = {
      {"format", export_format}, {"generated_at", now}, {"user_id", user_id}};
  for (const auto& p : parts) {
    if (p.form == exports::shape::one) {
      doc[p.name]
          = p.rows.empty() ? nlohmann::json(nullptr) : row_json(p.rows.front());
      continue;
    }
    auto list = nlohmann::json::array();
    for (const auto& row : p.rows)
      list.push_back(row_json(row));
    doc[p.name] = std::move(list);
  }
  return doc;
}

/// Writes what the auditor still buffers (so the trail in the document is
/// complete up to this request), reads every section in one unit (one
/// transaction: a consistent snapshot) and answers the document as a
/// download that no cache keeps. `not_found`: the answer when there is no
/// such account; `audit_type`: the event that records the export.
void reply_export(const context_ptr& ctx, const std::string& user_id,
                  const std::string& not_found, const std::string& audit_type) {
  safe_request(ctx->self, ctx->svc().auditor, db_timeout, atom::flush_atom_v)
      .then(
          [ctx, user_id, not_found, audit_type](std::int32_t) {
            db_write(ctx, exports::read(user_id, "not_found"),
                     [ctx, user_id, not_found, audit_type](db::unit_result& r) {
                       auto parts = exports::decode(r);
                       if (!parts)
                         return ctx->reply_error(not_found);
                       auto now = unix_now(ctx);
                       auto res = http::json_response(
                           200, document(user_id, *parts, now));
                       res.set_header("Content-Disposition",
                                      "attachment; filename=\"account-export-"
                                          + user_id + ".json\"");
                       res.set_header("Cache-Control", "no-store");
                       res.set_header("Pragma", "no-cache");
                       ctx->audit(audit_type, true, user_id);
                       ctx->reply(std::move(res));
                     });
          },
          [ctx](caf::error& e) { ctx->reply_failure(e); });
}

} // namespace

void me_export(const context_ptr& ctx) {
  // A deleted or disabled account has no valid bearer; "unauthorized" is
  // what a vanished account gets elsewhere (GET /v1/me).
  reply_export(ctx, ctx->auth.user_id, "unauthorized", "account.exported");
}

void admin_user_export(const context_ptr& ctx) {
  reply_export(ctx, ctx->params["id"], "not_found", "user.exported_by_admin");
}

} // namespace authsvc::http_routes
