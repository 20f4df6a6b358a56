#include "auth/recovery_codes.hpp"

#include <set>

#include "auth/crypto.hpp"

namespace authsvc::auth {

std::vector<std::string> generate_recovery_codes(std::size_t count) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  out.reserve(count);
  while (out.size() < count) {
    std::string code;
    for (std::size_t i = 0; i < recovery_code_symbols; ++i) {
      if (i == recovery_code_symbols / 2)
        code += '-';
      code += recovery_code_alphabet[random_below(
          recovery_code_alphabet.size())];
    }
    // A repeat is astronomically unlikely, but a set with duplicates would
    // silently hold fewer usable codes.
    if (seen.insert(code).second)
      out.push_back(std::move(code));
  }
  return out;
}

std::string normalize_recovery_code(std::string_view code) {
  std::string out;
  out.reserve(code.size());
  for (char c : code) {
    if (c == ' ' || c == '-' || c == '\t')
      continue;
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    out += c;
  }
  return out;
}

bool is_well_formed_recovery_code(std::string_view code) {
  auto n = normalize_recovery_code(code);
  if (n.size() != recovery_code_symbols)
    return false;
  for (char c : n)
    if (recovery_code_alphabet.find(c) == std::string_view::npos)
      return false;
  return true;
}

std::string hash_recovery_code(std::string_view pepper, std::string_view code) {
  return hex_encode(hmac_sha256(pepper, normalize_recovery_code(code)));
}

bool recovery_code_matches(std::string_view pepper, std::string_view code,
                           std::string_view stored_hash) {
  auto computed = hash_recovery_code(pepper, code);
  return constant_time_equal(std::string_view{computed}, stored_hash);
}

} // namespace authsvc::auth
