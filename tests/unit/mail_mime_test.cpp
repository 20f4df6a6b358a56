#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "mail/mime.hpp"
#include "mail/template_set.hpp"
#include "mail_test_support.hpp"

using namespace authsvc::mail;
using namespace std::chrono;

namespace {

message_fields sample_fields() {
  message_fields f;
  f.from = {"Ünïcødé 日本語 ✓", "no-reply@auth.example.com"};
  f.to = {"Zoë \"Z\" O'Brien", "zoe@example.org"};
  f.subject = "Ünïcødé 日本語 ✓ — sign in to Example, a subject long enough "
              "to need more than one encoded-word and folding";
  f.text = "Hello Zoë,\n\n.a line starting with a dot\nFrom the start\n"
           "trailing space \n"
           + std::string(300, 'x') + "\n" + std::string(100, 'e') + "é=\n"
           + "日本語のテキストがここに続きます。" + "\n";
  f.html = "<p>Hello Zoë &amp; friends</p>\n<p>" + std::string(500, 'y')
           + "</p>\n";
  f.message_id = make_message_id("job-42", "auth.example.com");
  f.date = system_clock::time_point{seconds{1741079100}}; // 2025-03-04 09:05
  f.language = "de";
  return f;
}

nlohmann::json inspect(const std::string& message) {
  test::temp_dir dir;
  auto path = dir.path() / "m.eml";
  test::write_file(path, message);
  std::string out;
  int rc = test::run(
      {test::python(), test::tools_dir() + "/mime_inspect.py", path.string()},
      out);
  INFO(out);
  REQUIRE(rc == 0);
  return nlohmann::json::parse(out);
}

} // namespace

TEST_CASE("dates are RFC 5322 and in UTC", "[mail][mime]") {
  CHECK(format_date(system_clock::time_point{seconds{1741079100}})
        == "Tue, 04 Mar 2025 09:05:00 +0000");
  CHECK(format_date(system_clock::time_point{seconds{0}})
        == "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST_CASE("addresses are checked strictly", "[mail][mime]") {
  CHECK(is_valid_address("ada@example.com"));
  CHECK(is_valid_address("a.b+tag@sub.example-host.org"));
  CHECK(is_valid_address("root@localhost"));
  CHECK_FALSE(is_valid_address("ada@example.com\r\nBcc: x@y.z"));
  CHECK_FALSE(is_valid_address("ada example.com"));
  CHECK_FALSE(is_valid_address("ada@"));
  CHECK_FALSE(is_valid_address("@example.com"));
  CHECK_FALSE(is_valid_address(".ada@example.com"));
  CHECK_FALSE(is_valid_address("a..b@example.com"));
  CHECK_FALSE(is_valid_address("ada@-example.com"));
  CHECK_FALSE(is_valid_address("ada@exa_mple.com"));
  CHECK_FALSE(is_valid_address("\"ada\"@example.com"));
  CHECK_FALSE(is_valid_address("zoë@example.com"));
  CHECK_FALSE(is_valid_address("ada@example.com>"));
  CHECK_FALSE(is_valid_address(std::string(65, 'a') + "@example.com"));
}

TEST_CASE("quoted-printable keeps lines short and round-trips",
          "[mail][mime]") {
  CHECK(quoted_printable_encode("a=b\n") == "a=3Db\r\n");
  CHECK(quoted_printable_encode("end \nx\t") == "end=20\r\nx=09");
  CHECK(quoted_printable_encode(".dot\r\nFrom me") == "=2Edot\r\n=46rom me");
  CHECK(quoted_printable_encode("é") == "=C3=A9");
  auto long_line = quoted_printable_encode(std::string(200, 'z') + "é");
  std::size_t start = 0;
  while (start < long_line.size()) {
    auto end = long_line.find("\r\n", start);
    if (end == std::string::npos)
      end = long_line.size();
    CHECK(end - start <= 76);
    start = end + 2;
  }
}

TEST_CASE("header injection is refused", "[mail][mime][security]") {
  auto f = sample_fields();
  SECTION("CR/LF in the subject") {
    f.subject = "Hi\r\nBcc: victim@example.com";
    CHECK(build_message(f).err().code == errc::invalid_header);
  }
  SECTION("LF in a display name") {
    f.to.display_name = "Zoë\nBcc: victim@example.com";
    CHECK(build_message(f).err().code == errc::invalid_header);
  }
  SECTION("CR in an address") {
    f.to.address = "zoe@example.org\rBcc: victim@example.com";
    CHECK(build_message(f).err().code == errc::invalid_header);
  }
  SECTION("a bad address") {
    f.from.address = "no-reply";
    CHECK(build_message(f).err().code == errc::invalid_address);
  }
  SECTION("a bad Message-ID") {
    f.message_id = "<job 42@example.com>";
    CHECK(build_message(f).err().code == errc::invalid_message_id);
    f.message_id = "job-42@example.com";
    CHECK(build_message(f).err().code == errc::invalid_message_id);
  }
  SECTION("invalid UTF-8") {
    f.text = "caf\xc3";
    CHECK(build_message(f).err().code == errc::invalid_utf8);
  }
}

TEST_CASE("the built message parses back with Python's email package",
          "[mail][mime][python]") {
  auto f = sample_fields();
  auto msg = build_message(f);
  REQUIRE(msg.ok());
  // Our own checks on the raw text: CRLF only, header lines within 78.
  auto head = msg->substr(0, msg->find("\r\n\r\n"));
  std::size_t start = 0;
  while (start < head.size()) {
    auto end = std::min(head.find("\r\n", start), head.size());
    INFO(head.substr(start, end - start));
    CHECK(end - start <= 78);
    start = end + 2;
  }
  CHECK(msg->find("Message-ID: <job-42@auth.example.com>\r\n")
        != std::string::npos);
  CHECK(msg->find("Date: Tue, 04 Mar 2025 09:05:00 +0000\r\n")
        != std::string::npos);

  auto j = inspect(*msg);
  INFO(j.dump(2));
  CHECK(j["defects"].empty());
  CHECK(j["subject"] == f.subject);
  CHECK(j["from_name"] == f.from.display_name);
  CHECK(j["from_addr"] == f.from.address);
  CHECK(j["to_name"] == f.to.display_name);
  CHECK(j["to_addr"] == f.to.address);
  CHECK(j["message_id"] == f.message_id);
  CHECK(j["content_type"] == "multipart/alternative");
  CHECK(j["max_line"].get<int>() <= 998);
  CHECK(j["bare_newlines"] == false);
  REQUIRE(j["parts"].size() == 2);
  auto crlf = [](std::string s) {
    std::string out;
    for (char c : s)
      out += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return out;
  };
  // Python hands back the text with the line breaks of the wire.
  auto text = j["parts"][0]["text"].get<std::string>();
  auto html = j["parts"][1]["text"].get<std::string>();
  CHECK(j["parts"][0]["content_type"] == "text/plain");
  CHECK(j["parts"][1]["content_type"] == "text/html");
  for (const auto& p : j["parts"]) {
    CHECK(p["charset"] == "utf-8");
    CHECK(p["cte"] == "quoted-printable");
    CHECK(p["max_raw_line"].get<int>() <= 76);
  }
  CHECK((text == f.text || text == crlf(f.text)));
  CHECK((html == f.html || html == crlf(f.html)));
}

TEST_CASE("a rendered template survives the round trip in every language",
          "[mail][mime][python]") {
  auto set = template_set::load_embedded();
  REQUIRE(set.ok());
  nlohmann::json vars
      = {{"app_name", "Exämple"},
         {"display_name", "<b>Zoë</b>"},
         {"link", "https://auth.example.com/l?token=" + std::string(120, 'T')},
         {"code", "123456"},
         {"lifetime_minutes", 15},
         {"ip", "2001:db8::1"},
         {"device", "Safari on iPhone"}};
  for (const auto* lang : {"ja", "fr"}) {
    auto r = set->render("sign_in", lang, vars);
    REQUIRE(r.ok());
    auto f = sample_fields();
    f.subject = r->subject;
    f.text = r->text;
    f.html = r->html;
    auto msg = build_message(f);
    REQUIRE(msg.ok());
    auto j = inspect(*msg);
    CHECK(j["defects"].empty());
    CHECK(j["subject"] == r->subject);
    CHECK(j["parts"][0]["text"].get<std::string>().find(
              "https://auth.example.com/l?token=" + std::string(120, 'T'))
          != std::string::npos);
  }
}
