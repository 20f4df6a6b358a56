#include "front/static_routes.hpp"

#include "auth/browser_cookie.hpp"

#include "core/embedded.hpp"
#include "front/pages.hpp"

namespace authsvc::http_routes {

namespace {

const char* content_type(const std::string& name) {
  auto ends = [&](const char* ext) {
    std::string e(ext);
    return name.size() >= e.size()
           && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".css"))
    return "text/css; charset=utf-8";
  if (ends(".js") || ends(".mjs"))
    return "text/javascript; charset=utf-8";
  if (ends(".svg"))
    return "image/svg+xml";
  if (ends(".html"))
    return "text/html; charset=utf-8";
  return "application/octet-stream";
}

/// Answers the file `name` of `files` (cacheable for five minutes, with
/// the page CSP when `csp` is set), or 404 not_found.
void reply_embedded(const context_ptr& ctx,
                    const std::vector<embedded::file>& files,
                    const std::string& name, const char* type,
                    const char* csp) {
  for (const auto& f : files) {
    if (f.path != name)
      continue;
    http::response r;
    r.status = 200;
    r.set_header("Content-Type", type);
    r.set_header("Cache-Control", "public, max-age=300");
    if (csp)
      r.set_header("Content-Security-Policy", csp);
    r.body = f.contents;
    return ctx->reply(std::move(r));
  }
  ctx->reply_error("not_found");
}

} // namespace

void static_file(const context_ptr& ctx) {
  const auto& name = ctx->params["file"];
  reply_embedded(ctx, embedded::static_blob(), name, content_type(name),
                 http::page_csp);
}

void openapi_json(const context_ptr& ctx) {
  reply_embedded(ctx, embedded::openapi_blob(), "openapi.json",
                 "application/json; charset=utf-8", nullptr);
}

void login_page(const context_ptr& ctx) {
  auto form = http::parse_form(ctx->req.query());
  auto redirect = http::form_value(form, "redirect_to").value_or("");
  if (redirect.size() > 2048)
    redirect.clear();
  // return_to (issue 16): where the page continues after a sign-in, e.g.
  // /oauth2/authorize?...; only a same-origin relative path, anything else
  // is ignored (open redirect). prompt=login: ask for a fresh sign-in even
  // with a live browser session.
  auto return_to = http::form_value(form, "return_to").value_or("");
  if (!auth::return_to_allowed(return_to, ctx->cfg().server.public_url))
    return_to.clear();
  auto prompt = http::form_value(form, "prompt").value_or("");
  // The page's script reads these from data attributes (escaped by the
  // template); email/start checks redirect_to against the allow list.
  ctx->reply(
      http::page_response(200, "login",
                          {{"redirect_to", redirect},
                           {"return_to", return_to},
                           {"prompt", prompt == "login" ? "login" : ""}}));
}

} // namespace authsvc::http_routes
