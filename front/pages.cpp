#include "front/pages.hpp"

#include <map>
#include <stdexcept>

#include <kainjow/mustache.hpp>

#include "core/embedded.hpp"
#include "front/middleware.hpp"

namespace authsvc::http {

namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

const std::map<std::string, std::string>& pages() {
  static const auto table = [] {
    std::map<std::string, std::string> out;
    const std::string prefix = "pages/";
    for (const auto& f : embedded::templates_blob())
      if (f.path.rfind(prefix, 0) == 0 && f.path.size() > 5
          && f.path.substr(f.path.size() - 5) == ".html")
        out[f.path.substr(prefix.size(), f.path.size() - prefix.size() - 5)]
            = f.contents;
    return out;
  }();
  return table;
}

data to_data(const nlohmann::json& j) {
  if (j.is_object()) {
    data d{data::type::object};
    for (auto it = j.begin(); it != j.end(); ++it)
      d.set(it.key(), to_data(it.value()));
    return d;
  }
  if (j.is_array()) {
    data d{data::type::list};
    for (const auto& x : j)
      d.push_back(to_data(x));
    return d;
  }
  if (j.is_boolean())
    return j.get<bool>() ? data{data::type::bool_true}
                         : data{data::type::bool_false};
  if (j.is_string())
    return data{j.get<std::string>()};
  if (j.is_null())
    return data{data::type::bool_false};
  return data{j.dump()};
}

} // namespace

std::string render_page(const std::string& name, const nlohmann::json& vars) {
  auto it = pages().find(name);
  if (it == pages().end())
    throw std::runtime_error("no page template '" + name + "'");
  mustache tmpl{it->second};
  if (!tmpl.is_valid())
    throw std::runtime_error("page '" + name + "': " + tmpl.error_message());
  return tmpl.render(to_data(vars));
}

response page_response(std::uint16_t status, const std::string& name,
                       const nlohmann::json& vars) {
  response r;
  r.status = status;
  r.set_header("Content-Type", "text/html; charset=utf-8");
  r.set_header("Content-Security-Policy", page_csp);
  r.set_header("Cache-Control", "no-store");
  r.body = render_page(name, vars);
  return r;
}

void validate_pages() {
  for (const auto& [name, text] : pages()) {
    mustache tmpl{text};
    if (!tmpl.is_valid())
      throw std::runtime_error("page template '" + name
                               + "': " + tmpl.error_message());
  }
  for (auto needed : {"confirm_link", "link_result", "login"})
    if (!pages().count(needed))
      throw std::runtime_error(std::string("page template '") + needed
                               + "' is missing");
}

} // namespace authsvc::http
