#include "db/pg_dialect.hpp"

#include <cctype>

namespace authsvc::db {

namespace {

bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

bool iequals_at(const std::string& s, std::size_t at, const char* word) {
  std::size_t i = 0;
  for (; word[i] != '\0'; ++i)
    if (at + i >= s.size()
        || std::toupper(static_cast<unsigned char>(s[at + i]))
               != std::toupper(static_cast<unsigned char>(word[i])))
      return false;
  return true;
}

/// The index just past a quoted run starting at `at` (quote char doubled
/// inside it, as in SQL), or past a comment.
std::size_t skip_quoted(const std::string& s, std::size_t at) {
  char q = s[at];
  if (q == '-') { // "--" comment to end of line
    auto nl = s.find('\n', at);
    return nl == std::string::npos ? s.size() : nl;
  }
  for (std::size_t i = at + 1; i < s.size(); ++i)
    if (s[i] == q) {
      if (i + 1 < s.size() && s[i + 1] == q) {
        ++i;
        continue;
      }
      return i + 1;
    }
  return s.size();
}

bool starts_quoted(const std::string& s, std::size_t i) {
  return s[i] == '\'' || s[i] == '"'
         || (s[i] == '-' && i + 1 < s.size() && s[i + 1] == '-');
}

/// True when the parenthesised list opening at `open` has a comma at its
/// own nesting level (so MAX/MIN there is the scalar function).
bool has_top_level_comma(const std::string& s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size();) {
    if (starts_quoted(s, i)) {
      i = skip_quoted(s, i);
      continue;
    }
    if (s[i] == '(')
      ++depth;
    else if (s[i] == ')' && --depth == 0)
      return false;
    else if (s[i] == ',' && depth == 1)
      return true;
    ++i;
  }
  return false;
}

} // namespace

std::string to_postgres(const std::string& sql, int* highest_out) {
  static const std::string now_sqlite = "strftime('%s','now')";
  static const std::string now_pg = "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)";
  std::string out;
  out.reserve(sql.size() + 16);
  int highest = 0;
  for (std::size_t i = 0; i < sql.size();) {
    char c = sql[i];
    if (sql.compare(i, now_sqlite.size(), now_sqlite) == 0) {
      out += now_pg;
      i += now_sqlite.size();
      continue;
    }
    if (starts_quoted(sql, i)) {
      auto end = skip_quoted(sql, i);
      out.append(sql, i, end - i);
      i = end;
      continue;
    }
    if (c == '?') {
      std::size_t j = i + 1;
      int n = 0;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j])))
        n = n * 10 + (sql[j++] - '0');
      if (j == i + 1)
        n = highest + 1;
      if (n > highest)
        highest = n;
      out += '$';
      out += std::to_string(n);
      i = j;
      continue;
    }
    bool word_start = i == 0 || !ident_char(sql[i - 1]);
    if (word_start && (iequals_at(sql, i, "MAX(") || iequals_at(sql, i, "MIN("))
        && has_top_level_comma(sql, i + 3)) {
      out += iequals_at(sql, i, "MAX(") ? "GREATEST(" : "LEAST(";
      i += 4;
      continue;
    }
    if (ident_char(c)) { // copy a whole word, so MAX( inside one never matches
      std::size_t j = i;
      while (j < sql.size() && ident_char(sql[j]))
        ++j;
      out.append(sql, i, j - i);
      i = j;
      continue;
    }
    out += c;
    ++i;
  }
  if (highest_out != nullptr)
    *highest_out = highest;
  return out;
}

} // namespace authsvc::db
