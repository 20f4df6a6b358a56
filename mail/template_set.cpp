#include "mail/template_set.hpp"
#include "auth/text.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include <kainjow/mustache.hpp>

#include "mail/locale.hpp"
#include "mail/utf8.hpp"

namespace authsvc::mail {

namespace {

namespace fs = std::filesystem;
namespace mu = kainjow::mustache;

constexpr const char* part_suffixes[] = {".subject.txt", ".txt", ".html"};

const message_spec* find_spec(std::string_view name) {
  for (const auto& s : message_specs())
    if (s.name == name)
      return &s;
  return nullptr;
}

std::set<std::string> allowed_variables(const message_spec& spec) {
  std::set<std::string> out{"display_name"};
  out.insert(spec.required.begin(), spec.required.end());
  out.insert(spec.optional.begin(), spec.optional.end());
  return out;
}

/// Checks the tags of one template by hand, because kainjow renders unknown
/// variables as empty text: a typo like {{lnk}} would send mail without the
/// sign-in link. Triple braces and `&` are refused so that no template can
/// switch HTML escaping off for user data.
void scan_tags(const std::string& where, const std::string& src,
               const std::set<std::string>& allowed,
               std::vector<std::string>& problems) {
  std::size_t pos = 0;
  while ((pos = src.find("{{", pos)) != std::string::npos) {
    auto end = src.find("}}", pos + 2);
    if (end == std::string::npos) {
      problems.push_back(where + ": unclosed tag");
      return;
    }
    std::string tag = src.substr(pos + 2, end - pos - 2);
    pos = end + 2;
    if (tag.empty()) {
      problems.push_back(where + ": empty tag");
      continue;
    }
    char sigil = tag.front();
    if (sigil == '!')
      continue;
    if (sigil == '{' || sigil == '&') {
      problems.push_back(where + ": unescaped tag {{" + tag
                         + "}} is not allowed");
      continue;
    }
    if (sigil == '>' || sigil == '=') {
      problems.push_back(where
                         + ": partials and delimiter changes are not "
                           "supported ({{"
                         + tag + "}})");
      continue;
    }
    if (sigil == '#' || sigil == '^' || sigil == '/')
      tag.erase(0, 1);
    auto first = tag.find_first_not_of(" \t");
    auto last = tag.find_last_not_of(" \t");
    std::string name = first == std::string::npos
                           ? std::string{}
                           : tag.substr(first, last - first + 1);
    if (allowed.count(name) == 0)
      problems.push_back(where + ": unknown variable {{" + name + "}}");
  }
}

/// Converts JSON to mustache data: null disappears (so sections treat it as
/// absent), numbers print as JSON does.
void add_json(mu::data& obj, const std::string& key, const nlohmann::json& v);

mu::data to_data(const nlohmann::json& v) {
  if (v.is_string())
    return mu::data{v.get<std::string>()};
  if (v.is_boolean())
    return mu::data{v.get<bool>() ? mu::data::type::bool_true
                                  : mu::data::type::bool_false};
  if (v.is_number())
    return mu::data{v.dump()};
  if (v.is_array()) {
    mu::data list{mu::data::type::list};
    for (const auto& item : v)
      if (!item.is_null())
        list.push_back(to_data(item));
    return list;
  }
  mu::data obj{mu::data::type::object};
  if (v.is_object())
    for (const auto& [key, value] : v.items())
      add_json(obj, key, value);
  return obj;
}

void add_json(mu::data& obj, const std::string& key, const nlohmann::json& v) {
  if (!v.is_null())
    obj.set(key, to_data(v));
}

/// Subjects are one header line: any control character a user value brings
/// (a display name with a newline) becomes a space instead of reaching the
/// header, where the MIME builder would refuse the whole message.
std::string subject_escape(const std::string& s) {
  std::string out = s;
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = ' ';
  return out;
}

std::string identity_escape(const std::string& s) {
  return s;
}

/// Renders one parsed template into `out`.
/// @returns false on a mustache error, with its text in `err`.
bool render_parsed(mu::mustache& tmpl, const mu::data& data, std::string& out,
                   std::string& err) {
  out = tmpl.render(data);
  if (!tmpl.is_valid()) {
    err = tmpl.error_message();
    return false;
  }
  return true;
}

/// Values that look like what the service sends, including characters that
/// HTML escaping must handle, so that start-up exercises every section.
nlohmann::json sample_vars(const message_spec& spec, bool with_optional) {
  nlohmann::json vars = nlohmann::json::object();
  auto fill = [&](const std::string& name) {
    if (name == "lifetime_minutes" || name == "count")
      vars[name] = 15;
    else if (name == "code")
      vars[name] = "123456";
    else if (name == "link" || name == "manage_url" || name == "cancel_link")
      vars[name] = "https://auth.example.com/v1/auth/email/link?token=abc&x=1";
    else
      vars[name] = "sample <" + name + "> & \"quoted\"";
  };
  for (const auto& name : spec.required)
    fill(name);
  if (with_optional) {
    for (const auto& name : spec.optional)
      fill(name);
    fill("display_name");
  }
  return vars;
}

} // namespace

const std::vector<message_spec>& message_specs() {
  static const std::vector<message_spec> specs = {
      {"sign_in",
       {"app_name", "link", "code", "lifetime_minutes", "ip"},
       {"device"}},
      {"passkey_added",
       {"app_name", "passkey_name", "time", "ip"},
       {"device", "manage_url"}},
      {"totp_enabled", {"app_name", "time", "ip"}, {"device", "manage_url"}},
      {"sessions_revoked", {"app_name", "time", "count"}, {"ip", "device"}},
      {"account_deleted", {"app_name", "email", "time"}, {}},
      // -- account lifecycle: email change --
      {"email_change_confirm",
       {"app_name", "link", "code", "lifetime_minutes", "ip"},
       {"device"}},
      {"email_change_notice",
       {"app_name", "new_email", "cancel_link", "time", "ip"},
       {"device"}},
      {"email_in_use", {"app_name", "time", "ip"}, {"device"}},
      // -- session policies (issue 17) --
      {"session_evicted",
       {"app_name", "time", "count", "limit"},
       {"ip", "device"}},
  };
  return specs;
}

/// kainjow's render() is not const (it keeps its error in the object), so
/// each parsed part is rendered under the lock; the mailer is the one caller
/// in service, so the lock is never contended there.
struct template_set::compiled_parts {
  explicit compiled_parts(const parts& p)
      : subject(p.subject), text(p.text), html(p.html) {
    subject.set_custom_escape(subject_escape);
    text.set_custom_escape(identity_escape);
    html.set_custom_escape(mu::html_escape<std::string>);
  }
  std::mutex lock;
  mu::mustache subject;
  mu::mustache text;
  mu::mustache html;
};

result<template_set> template_set::load_embedded() {
  std::vector<embedded::file> files;
  const std::string prefix = "email/";
  for (const auto& f : embedded::templates_blob())
    if (f.path.compare(0, prefix.size(), prefix) == 0)
      files.push_back({f.path.substr(prefix.size()), f.contents});
  return load_files(files);
}

result<template_set> template_set::load_directory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return error{errc::template_invalid,
                 "template folder " + dir + " does not exist"};
  std::vector<embedded::file> files;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec))
      continue;
    auto rel = fs::relative(it->path(), dir, ec).generic_string();
    if (it->path().filename().string().front() == '.')
      continue; // editor swap files and the like
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    if (!in)
      return error{errc::template_invalid,
                   "cannot read " + it->path().string()};
    files.push_back({rel, buf.str()});
  }
  if (ec)
    return error{errc::template_invalid,
                 "cannot list " + dir + ": " + ec.message()};
  auto set = load_files(files);
  if (!set)
    return error{set.err().code, "in " + dir + ": " + set.err().message};
  return set;
}

result<template_set>
template_set::load_files(const std::vector<embedded::file>& files) {
  template_set set;
  std::vector<std::string> problems;
  const auto& locales = supported_locales();
  for (const auto& f : files) {
    auto slash = f.path.find('/');
    if (slash == std::string::npos)
      continue; // top-level files (a README) are not templates
    auto message = f.path.substr(0, slash);
    auto name = f.path.substr(slash + 1);
    if (!find_spec(message)) {
      problems.push_back(f.path + ": unknown message '" + message + "'");
      continue;
    }
    bool placed = false;
    for (const auto& lang : locales) {
      for (int part = 0; part < 3; ++part) {
        if (name != lang + part_suffixes[part])
          continue;
        auto& p = set.templates_[message + "/" + lang];
        (part == 0 ? p.subject : part == 1 ? p.text : p.html) = f.contents;
        placed = true;
      }
    }
    if (!placed)
      problems.push_back(f.path
                         + ": unexpected file (want <lang>.subject.txt,"
                           " <lang>.txt or <lang>.html)");
  }
  for (const auto& spec : message_specs()) {
    auto allowed = allowed_variables(spec);
    for (const auto& lang : locales) {
      auto key = spec.name + "/" + lang;
      auto it = set.templates_.find(key);
      const parts empty;
      const parts& p = it == set.templates_.end() ? empty : it->second;
      const std::string* srcs[] = {&p.subject, &p.text, &p.html};
      bool complete = true;
      for (int part = 0; part < 3; ++part) {
        auto where = key + part_suffixes[part];
        if (auth::trim_space(*srcs[part]).empty()) {
          problems.push_back(where + ": missing or empty");
          complete = false;
        } else if (!is_valid_utf8(*srcs[part])) {
          problems.push_back(where + ": not valid UTF-8");
          complete = false;
        } else {
          auto before = problems.size();
          scan_tags(where, *srcs[part], allowed, problems);
          complete = complete && before == problems.size();
        }
      }
      if (!complete)
        continue;
      it->second.compiled = std::make_shared<compiled_parts>(it->second);
      // Render twice: with every optional value and with none, so that both
      // branches of every section are parsed and produce sane output.
      for (bool with_optional : {true, false}) {
        auto r = set.render(spec.name, lang, sample_vars(spec, with_optional));
        if (!r) {
          problems.push_back(r.err().message); // names the file
          break;
        }
        if (r->subject.empty())
          problems.push_back(key + ".subject.txt: renders empty");
        else if (r->subject.size() > 200)
          problems.push_back(key + ".subject.txt: longer than 200 bytes");
        if (auth::trim_space(r->text).empty()
            || auth::trim_space(r->html).empty())
          problems.push_back(key + ": a body renders empty");
      }
    }
  }
  if (!problems.empty()) {
    std::string msg = "invalid email templates: ";
    for (std::size_t i = 0; i < problems.size(); ++i)
      msg += (i ? "; " : "") + problems[i];
    return error{errc::template_invalid, std::move(msg)};
  }
  return set;
}

result<rendered> template_set::render(std::string_view message,
                                      std::string_view locale,
                                      const nlohmann::json& vars) const {
  const auto* spec = find_spec(message);
  if (!spec)
    return error{errc::unknown_message,
                 "no templates for message '" + std::string(message) + "'"};
  if (!vars.is_object())
    return error{errc::missing_variable,
                 "template variables must be an object"};
  for (const auto& name : spec->required) {
    auto it = vars.find(name);
    if (it == vars.end() || it->is_null()
        || !(it->is_string() || it->is_number() || it->is_boolean())
        || (it->is_string() && it->get_ref<const std::string&>().empty()))
      return error{errc::missing_variable,
                   std::string(message) + " needs a value for '" + name + "'"};
  }
  for (const auto& [key, value] : vars.items())
    if (value.is_string()
        && !is_valid_utf8(value.get_ref<const std::string&>()))
      return error{errc::invalid_utf8, "variable '" + key + "' is not UTF-8"};
  auto lang = match_locale(locale).value_or("en");
  auto it = templates_.find(spec->name + "/" + lang);
  if (it == templates_.end())
    return error{errc::template_invalid,
                 "no templates for " + spec->name + "/" + lang};
  mu::data data = to_data(vars);
  rendered out;
  std::string err;
  // The error names the file (sign_in/de.html), so an operator knows where
  // to look.
  auto failed = [&](int part) {
    return error{errc::template_invalid,
                 spec->name + "/" + lang + part_suffixes[part] + ": " + err};
  };
  // Every entry of a loaded set is parsed (load_files fails otherwise).
  auto& c = *it->second.compiled;
  std::lock_guard<std::mutex> guard{c.lock};
  if (!render_parsed(c.subject, data, out.subject, err))
    return failed(0);
  if (!render_parsed(c.text, data, out.text, err))
    return failed(1);
  if (!render_parsed(c.html, data, out.html, err))
    return failed(2);
  // Template newlines in the subject are a formatting accident, not intent.
  out.subject = subject_escape(std::string(auth::trim_space(out.subject)));
  out.subject = std::string(auth::trim_space(out.subject));
  return out;
}

} // namespace authsvc::mail
