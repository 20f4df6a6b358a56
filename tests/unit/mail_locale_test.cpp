#include <catch2/catch.hpp>

#include "mail/locale.hpp"

using namespace authsvc::mail;

TEST_CASE("language tags map onto the supported locales", "[mail][locale]") {
  CHECK(match_locale("en") == "en");
  CHECK(match_locale("EN-us") == "en");
  CHECK(match_locale("de_AT") == "de");
  CHECK(match_locale("fr-CA") == "fr");
  CHECK(match_locale("es-419") == "es");
  CHECK(match_locale("ja-JP") == "ja");
  SECTION("every spelling of Portuguese lands on pt-BR") {
    CHECK(match_locale("pt-BR") == "pt-BR");
    CHECK(match_locale("pt_br") == "pt-BR");
    CHECK(match_locale("PT-br") == "pt-BR");
    CHECK(match_locale("pt") == "pt-BR");
    CHECK(match_locale("pt-PT") == "pt-BR");
  }
  SECTION("unknown or malformed tags match nothing") {
    CHECK_FALSE(match_locale("zh-CN"));
    CHECK_FALSE(match_locale(""));
    CHECK_FALSE(match_locale("*"));
    CHECK_FALSE(match_locale("en;q=1"));
    CHECK_FALSE(match_locale("e n"));
  }
}

TEST_CASE("Accept-Language is parsed with q-values", "[mail][locale]") {
  auto r
      = parse_accept_language("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5");
  REQUIRE(r.size() == 5);
  CHECK(r[0].range == "fr-CH");
  CHECK(r[0].q == 1.0);
  CHECK(r[3].range == "de");
  CHECK(r[3].q == Approx(0.7));
  SECTION("entries are ordered by weight, ties keep header order") {
    auto s = parse_accept_language("en;q=0.5, ja, de;q=0.5, es;q=1.0");
    REQUIRE(s.size() == 4);
    CHECK(s[0].range == "ja");
    CHECK(s[1].range == "es");
    CHECK(s[2].range == "en");
    CHECK(s[3].range == "de");
  }
  SECTION("malformed entries are dropped, not guessed") {
    auto s = parse_accept_language("de;q=abc, fr;q=2, ;, en-US ; Q=0.3,,ja;q=");
    REQUIRE(s.size() == 1);
    CHECK(s[0].range == "en-US");
    CHECK(s[0].q == Approx(0.3));
  }
}

TEST_CASE("the email locale is chosen by a fixed precedence",
          "[mail][locale]") {
  SECTION("the request's locale wins") {
    CHECK(choose_locale("de", "fr", "ja", "es") == "de");
  }
  SECTION("an unsupported request locale falls through to the user's") {
    CHECK(choose_locale("zh", "fr", "ja", "es") == "fr");
  }
  SECTION("then Accept-Language, highest q first") {
    CHECK(choose_locale("", "", "zh-CN, ja;q=0.4, pt-br;q=0.8", "en")
          == "pt-BR");
    CHECK(choose_locale("", "", "es-MX,es;q=0.9", "en") == "es");
  }
  SECTION("q=0 excludes a language") {
    CHECK(choose_locale("", "", "de;q=0, *;q=0.5", "de") == "en");
    CHECK(choose_locale("", "", "pt;q=0, *", "pt-BR") == "en");
  }
  SECTION("a wildcard prefers the operator default") {
    CHECK(choose_locale("", "", "zh, *;q=0.1", "ja") == "ja");
  }
  SECTION("nothing usable: the default, then en") {
    CHECK(choose_locale("", "", "zh, ko", "fr-FR") == "fr");
    CHECK(choose_locale("", "", "", "de") == "de");
    CHECK(choose_locale("", "", "", "klingon") == "en");
    CHECK(choose_locale("", "", "", "") == "en");
  }
}
