#include "auth/email_address.hpp"

namespace authsvc::auth {

namespace {

constexpr std::size_t max_total = 254;
constexpr std::size_t max_local = 64;
constexpr std::size_t max_domain = 255;
constexpr std::size_t max_label = 63;

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9');
}

/// RFC 5322 atext.
bool is_atext(char c) {
  if (is_alnum(c))
    return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c)
         != std::string_view::npos;
}

bool is_trimmable(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v'
         || c == '\f';
}

email_result fail(email_error error) {
  return email_result{std::nullopt, error};
}

bool valid_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.')
    return false;
  char previous = 0;
  for (char c : s) {
    if (c == '.' ? previous == '.' : !is_atext(c))
      return false;
    previous = c;
  }
  return true;
}

email_error check_domain(std::string_view domain) {
  if (domain.empty())
    return email_error::invalid_domain;
  if (domain.front() == '[')
    return email_error::address_literal;
  std::size_t labels = 0;
  bool last_all_digits = false;
  std::size_t start = 0;
  while (true) {
    auto dot = domain.find('.', start);
    auto label = domain.substr(start, dot == std::string_view::npos
                                          ? std::string_view::npos
                                          : dot - start);
    if (label.empty() || label.size() > max_label || label.front() == '-'
        || label.back() == '-')
      return email_error::invalid_domain;
    last_all_digits = true;
    for (char c : label) {
      if (!is_alnum(c) && c != '-')
        return email_error::invalid_domain;
      last_all_digits = last_all_digits && c >= '0' && c <= '9';
    }
    ++labels;
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  if (labels < 2)
    return email_error::domain_without_dot;
  if (last_all_digits)
    return email_error::address_literal;
  return email_error::none;
}

} // namespace

std::string_view to_string(email_error error) noexcept {
  switch (error) {
  case email_error::none:
    return "none";
  case email_error::empty:
    return "empty";
  case email_error::too_long:
    return "too_long";
  case email_error::local_part_too_long:
    return "local_part_too_long";
  case email_error::domain_too_long:
    return "domain_too_long";
  case email_error::invalid_character:
    return "invalid_character";
  case email_error::missing_at:
    return "missing_at";
  case email_error::multiple_at:
    return "multiple_at";
  case email_error::invalid_local_part:
    return "invalid_local_part";
  case email_error::invalid_domain:
    return "invalid_domain";
  case email_error::domain_without_dot:
    return "domain_without_dot";
  case email_error::address_literal:
    return "address_literal";
  }
  return "unknown";
}

email_result normalise_email(std::string_view input) {
  while (!input.empty() && is_trimmable(input.front()))
    input.remove_prefix(1);
  while (!input.empty() && is_trimmable(input.back()))
    input.remove_suffix(1);
  if (input.empty())
    return fail(email_error::empty);
  // Characters first: a length or syntax reason for a string holding a NUL
  // or a newline would point the user at the wrong problem.
  for (char c : input) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f)
      return fail(email_error::invalid_character);
  }
  auto at = input.find('@');
  if (at == std::string_view::npos)
    return fail(email_error::missing_at);
  if (input.find('@', at + 1) != std::string_view::npos)
    return fail(email_error::multiple_at);
  auto local = input.substr(0, at);
  auto domain = input.substr(at + 1);
  if (local.size() > max_local)
    return fail(email_error::local_part_too_long);
  if (domain.size() > max_domain)
    return fail(email_error::domain_too_long);
  if (input.size() > max_total)
    return fail(email_error::too_long);
  if (!valid_dot_atom(local))
    return fail(email_error::invalid_local_part);
  if (auto error = check_domain(domain); error != email_error::none)
    return fail(error);
  std::string normalised(input);
  for (auto& c : normalised)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return email_result{std::move(normalised), email_error::none};
}

std::string send_budget_key(std::string_view normalised) {
  std::string out(normalised);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  auto at = out.rfind('@');
  if (at == std::string::npos)
    return out;
  auto plus = out.find('+');
  // A local part that starts with '+' has no mailbox name to keep.
  if (plus != std::string::npos && plus > 0 && plus < at)
    out.erase(plus, at - plus);
  return out;
}

} // namespace authsvc::auth
