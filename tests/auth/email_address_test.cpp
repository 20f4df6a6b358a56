#include <catch2/catch.hpp>

#include <string>

#include "auth/email_address.hpp"

using namespace authsvc::auth;

TEST_CASE("valid email addresses are normalised", "[auth][email]") {
  struct row {
    const char* input;
    const char* expected;
  };
  auto row_ = GENERATE(values<row>({
      {"user@example.com", "user@example.com"},
      {"  User@Example.COM \t\r\n", "user@example.com"},
      {"first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"},
      {"o'brien@example.ie", "o'brien@example.ie"},
      {"a!#$%&'*+-/=?^_`{|}~z@example.com",
       "a!#$%&'*+-/=?^_`{|}~z@example.com"},
      {"x@xn--bcher-kva.example", "x@xn--bcher-kva.example"},
      {"x@a-b.c0", "x@a-b.c0"},
      {"x@123.example.com", "x@123.example.com"},
  }));
  auto result = normalise_email(row_.input);
  INFO(row_.input);
  REQUIRE(result);
  CHECK(*result.address == row_.expected);
  CHECK(result.error == email_error::none);
}

TEST_CASE("invalid email addresses are refused with a reason",
          "[auth][email]") {
  struct row {
    std::string input;
    email_error expected;
  };
  const std::string local64(64, 'a');
  const std::string label63(63, 'b');
  // 64 + 1 + 4 * 64 - 1 + ... : build a domain that pushes the total past 254
  // while each part stays within its own limit.
  const std::string domain190 = label63 + "." + label63 + "." + label63 + ".c";
  auto row_ = GENERATE_COPY(values<row>({
      {"", email_error::empty},
      {" \t ", email_error::empty},
      {"userexample.com", email_error::missing_at},
      {"a@b@example.com", email_error::multiple_at},
      {"\"a@b\"@example.com", email_error::multiple_at},
      {"us er@example.com", email_error::invalid_character},
      {"user@exa\tmple.com", email_error::invalid_character},
      {std::string("user\0@example.com", 17), email_error::invalid_character},
      {"user@example.com\r\nBcc: x@evil.com", email_error::invalid_character},
      {"j\xc3\xb6rg@example.com", email_error::invalid_character},
      {"user@b\xc3\xbc"
       "cher.example",
       email_error::invalid_character},
      {"@example.com", email_error::invalid_local_part},
      {".user@example.com", email_error::invalid_local_part},
      {"user.@example.com", email_error::invalid_local_part},
      {"us..er@example.com", email_error::invalid_local_part},
      {"us(er)@example.com", email_error::invalid_local_part},
      {"\"quoted\"@example.com", email_error::invalid_local_part},
      {"user@", email_error::invalid_domain},
      {"user@-example.com", email_error::invalid_domain},
      {"user@example-.com", email_error::invalid_domain},
      {"user@example..com", email_error::invalid_domain},
      {"user@example.com.", email_error::invalid_domain},
      {"user@.example.com", email_error::invalid_domain},
      {"user@exa_mple.com", email_error::invalid_domain},
      {"user@" + label63 + "b.com", email_error::invalid_domain},
      {"user@localhost", email_error::domain_without_dot},
      {"user@[192.0.2.1]", email_error::address_literal},
      {"user@192.0.2.1", email_error::address_literal},
      {local64 + "a@example.com", email_error::local_part_too_long},
      {"a@" + std::string(256, 'd'), email_error::domain_too_long},
      {local64 + "@" + domain190, email_error::too_long},
  }));
  INFO(row_.input);
  auto result = normalise_email(row_.input);
  CHECK_FALSE(result);
  CHECK(result.error == row_.expected);
}

TEST_CASE("email length limits are inclusive", "[auth][email]") {
  const std::string label63(63, 'b');
  // 64 + 1 + 189 = 254 octets: the longest address accepted.
  const std::string domain189
      = label63 + "." + label63 + "." + std::string(57, 'c') + ".com";
  REQUIRE(domain189.size() == 189);
  auto longest = normalise_email(std::string(64, 'a') + "@" + domain189);
  CHECK(longest);
  CHECK(longest.address->size() == 254);
  CHECK(to_string(email_error::domain_without_dot) == "domain_without_dot");
}

TEST_CASE("plus-tag variants of one mailbox share one send budget key",
          "[auth][email]") {
  CHECK(send_budget_key("a+1@example.com") == "a@example.com");
  CHECK(send_budget_key("a+2+x@example.com") == "a@example.com");
  CHECK(send_budget_key("a@example.com") == "a@example.com");
  CHECK(send_budget_key("A+Tag@Example.COM") == "a@example.com");
  CHECK(send_budget_key("+only@example.com") == "+only@example.com");
  CHECK(send_budget_key("first.last+news@example.com")
        == "first.last@example.com");
  CHECK(send_budget_key("a@b+c.example") == "a@b+c.example");
}
