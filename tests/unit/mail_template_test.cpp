#include <catch2/catch.hpp>

#include <set>

#include "mail/locale.hpp"
#include "mail/template_set.hpp"
#include "mail_test_support.hpp"

using namespace authsvc::mail;
using nlohmann::json;

namespace {

/// A complete set of values for `message`, as the service would pass them.
json full_vars(const std::string& message) {
  json v = {{"app_name", "Example"}, {"display_name", "Ada"}};
  for (const auto& spec : message_specs()) {
    if (spec.name != message)
      continue;
    for (const auto* names : {&spec.required, &spec.optional})
      for (const auto& n : *names)
        if (!v.contains(n))
          v[n] = n == "lifetime_minutes" || n == "count" ? json(15)
                                                         : json("v_" + n);
  }
  return v;
}

/// Writes the embedded templates to `dir`, as an operator would start.
void copy_embedded(const std::filesystem::path& dir) {
  for (const auto& f : authsvc::embedded::templates_blob())
    if (f.path.rfind("email/", 0) == 0)
      test::write_file(dir / f.path.substr(6), f.contents);
}

} // namespace

TEST_CASE("every message exists in every language and renders",
          "[mail][templates]") {
  auto set = template_set::load_embedded();
  REQUIRE(set.ok());
  REQUIRE(message_specs().size() == 9);
  REQUIRE(supported_locales().size() == 6);
  for (const auto& spec : message_specs()) {
    std::set<std::string> subjects;
    for (const auto& lang : supported_locales()) {
      INFO(spec.name << "/" << lang);
      auto r = set->render(spec.name, lang, full_vars(spec.name));
      REQUIRE(r.ok());
      CHECK_FALSE(r->subject.empty());
      CHECK(r->subject.find('\n') == std::string::npos);
      CHECK(r->text.find("{{") == std::string::npos);
      CHECK(r->html.find("{{") == std::string::npos);
      CHECK((r->text.find("v_ip") != std::string::npos
             || spec.name == "account_deleted"));
      CHECK(r->html.find("<html lang=\"" + lang + "\">") != std::string::npos);
      subjects.insert(r->subject);
    }
    // Subjects are translated, not copied from English.
    CHECK(subjects.size() == supported_locales().size());
  }
}

TEST_CASE("the sign-in mail carries link, code, lifetime, IP and device",
          "[mail][templates]") {
  auto set = template_set::load_embedded();
  REQUIRE(set.ok());
  json v = {{"app_name", "Example"}, {"link", "https://a.example/l?t=x&y=1"},
            {"code", "042917"},      {"lifetime_minutes", 15},
            {"ip", "203.0.113.9"},   {"device", "Firefox on Linux"}};
  auto r = set->render("sign_in", "en", v);
  REQUIRE(r.ok());
  CHECK(r->text.find("https://a.example/l?t=x&y=1") != std::string::npos);
  CHECK(r->html.find("href=\"https://a.example/l?t=x&amp;y=1\"")
        != std::string::npos);
  for (const auto* s : {"042917", "15 minutes", "203.0.113.9",
                        "Firefox on Linux", "ignore this email"}) {
    CHECK(r->text.find(s) != std::string::npos);
    CHECK(r->html.find(s) != std::string::npos);
  }
  SECTION("without a display name the greeting stays generic") {
    CHECK(r->text.rfind("Hello,\n", 0) == 0);
  }
  SECTION("without a device the device line disappears") {
    v.erase("device");
    auto r2 = set->render("sign_in", "de", v);
    REQUIRE(r2.ok());
    CHECK(r2->text.find("Gerät") == std::string::npos);
    CHECK(r2->text.find("IP-Adresse: 203.0.113.9") != std::string::npos);
  }
}

TEST_CASE("user-controlled values are escaped in HTML and verbatim in text",
          "[mail][templates][security]") {
  auto set = template_set::load_embedded();
  REQUIRE(set.ok());
  auto v = full_vars("passkey_added");
  v["display_name"] = "<script>alert(1)</script>";
  v["passkey_name"] = "\"&'";
  for (const auto& lang : supported_locales()) {
    INFO(lang);
    auto r = set->render("passkey_added", lang, v);
    REQUIRE(r.ok());
    CHECK(r->html.find("<script>") == std::string::npos);
    CHECK(r->html.find("&lt;script&gt;alert(1)&lt;/script&gt;")
          != std::string::npos);
    CHECK(r->html.find("&quot;&amp;&apos;") != std::string::npos);
    CHECK(r->text.find("<script>alert(1)</script>") != std::string::npos);
    CHECK(r->text.find("\"&'") != std::string::npos);
  }
}

TEST_CASE("control characters in values cannot break the subject line",
          "[mail][templates][security]") {
  auto set = template_set::load_embedded();
  REQUIRE(set.ok());
  auto v = full_vars("account_deleted");
  v["app_name"] = "Evil\r\nBcc: victim@example.com";
  auto r = set->render("account_deleted", "en", v);
  REQUIRE(r.ok());
  CHECK(r->subject.find('\r') == std::string::npos);
  CHECK(r->subject.find('\n') == std::string::npos);
}

TEST_CASE("rendering refuses missing variables and unknown messages",
          "[mail][templates]") {
  auto set = template_set::load_embedded();
  REQUIRE(set.ok());
  auto v = full_vars("sign_in");
  v.erase("link");
  auto r = set->render("sign_in", "en", v);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::missing_variable);
  CHECK(r.err().message.find("link") != std::string::npos);
  v = full_vars("sign_in");
  v["code"] = nullptr;
  auto missing = set->render("sign_in", "en", v);
  CHECK((!missing.ok() && missing.err().code == errc::missing_variable));
  auto unknown = set->render("password_reset", "en", v);
  CHECK((!unknown.ok() && unknown.err().code == errc::unknown_message));
  SECTION("an unsupported locale falls back to English") {
    auto r2 = set->render("sign_in", "zh", full_vars("sign_in"));
    REQUIRE(r2.ok());
    CHECK(r2->subject == "Sign in to Example");
  }
}

TEST_CASE("an operator template folder is validated when it is loaded",
          "[mail][templates]") {
  test::temp_dir dir;
  copy_embedded(dir.path());
  REQUIRE(template_set::load_directory(dir.str()).ok());

  auto expect_broken = [&](const std::string& needle) {
    auto r = template_set::load_directory(dir.str());
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::template_invalid);
    INFO(r.err().message);
    CHECK(r.err().message.find(needle) != std::string::npos);
  };
  auto path = [&](const char* rel) { return dir.path() / rel; };

  SECTION("a missing part") {
    std::filesystem::remove(path("totp_enabled/ja.html"));
    expect_broken("totp_enabled/ja.html: missing");
  }
  SECTION("an unescaped variable") {
    test::write_file(path("sign_in/fr.html"),
                     "<p>{{{display_name}}} {{link}} {{code}}</p>");
    expect_broken("unescaped tag");
  }
  SECTION("a misspelled variable") {
    test::write_file(path("sign_in/es.txt"), "{{lnk}}\n");
    expect_broken("sign_in/es.txt: unknown variable {{lnk}}");
  }
  SECTION("an unclosed section") {
    test::write_file(path("account_deleted/de.txt"), "{{#display_name}} x\n");
    expect_broken("account_deleted/de.txt: Unclosed section");
  }
  SECTION("a misnamed file") {
    test::write_file(path("sign_in/en.subject.text"), "Hi\n");
    expect_broken("sign_in/en.subject.text: unexpected file");
  }
  SECTION("an unknown message folder") {
    test::write_file(path("sign_on/en.txt"), "Hi\n");
    expect_broken("unknown message 'sign_on'");
  }
  SECTION("text that is not UTF-8") {
    test::write_file(path("passkey_added/pt-BR.subject.txt"), "Ol\xe1\n");
    expect_broken("passkey_added/pt-BR.subject.txt: not valid UTF-8");
  }
  SECTION("a folder that does not exist") {
    auto r = template_set::load_directory(dir.str() + "/nope");
    CHECK_FALSE(r.ok());
  }
}
