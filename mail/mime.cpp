#include "mail/mime.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <vector>

#include "auth/crypto.hpp"
#include "auth/encoding.hpp"
#include "mail/utf8.hpp"

namespace authsvc::mail {

namespace {

constexpr std::size_t max_header_line = 78;
constexpr std::size_t max_qp_line = 76;

bool is_atext(char c) {
  if (std::isalnum(static_cast<unsigned char>(c)))
    return true;
  switch (c) {
  case '!':
  case '#':
  case '$':
  case '%':
  case '&':
  case '\'':
  case '*':
  case '+':
  case '-':
  case '/':
  case '=':
  case '?':
  case '^':
  case '_':
  case '`':
  case '{':
  case '|':
  case '}':
  case '~':
    return true;
  default:
    return false;
  }
}

bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.')
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.')
        return false;
    } else if (!is_atext(s[i])) {
      return false;
    }
  }
  return true;
}

bool is_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253)
    return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto dot = s.find('.', start);
    auto label
        = s.substr(start, dot == std::string_view::npos ? std::string_view::npos
                                                        : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-'
        || label.back() == '-')
      return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
        return false;
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  return true;
}

bool has_control(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return true;
  return false;
}

bool is_printable_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20
        || static_cast<unsigned char>(c) > 0x7e)
      return false;
  return true;
}

/// Appends `tokens` to a header, separated by single spaces, folding (CRLF SP)
/// before a token that would push the line past 78 octets. Folding only
/// replaces a space that is there anyway, so unfolding restores the value.
void append_folded(std::string& out, std::size_t& col,
                   const std::vector<std::string>& tokens) {
  bool first = true;
  for (const auto& t : tokens) {
    if (!first) {
      if (!t.empty() && col + 1 + t.size() > max_header_line) {
        out += "\r\n";
        col = 0;
      }
      out += ' ';
      ++col;
    }
    first = false;
    out += t;
    col += t.size();
  }
}

std::vector<std::string> split_spaces(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto sp = s.find(' ', start);
    out.emplace_back(s.substr(start, sp == std::string_view::npos
                                         ? std::string_view::npos
                                         : sp - start));
    if (sp == std::string_view::npos)
      return out;
    start = sp + 1;
  }
}

std::vector<std::string> encoded_word_tokens(std::string_view text) {
  // 42 octets -> 56 base64 characters -> a 68-octet encoded-word, which fits
  // after "Subject: " within 78.
  constexpr std::size_t max_chunk = 42;
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t end = i;
    while (end < text.size()) {
      auto len = utf8_sequence_length(static_cast<unsigned char>(text[end]));
      if (end + len - i > max_chunk)
        break;
      end += len;
    }
    words.push_back("=?UTF-8?B?" + auth::base64_encode(text.substr(i, end - i))
                    + "?=");
    i = end;
  }
  return words;
}

/// Unstructured text (the Subject): kept readable when it is plain ASCII that
/// cannot be mistaken for an encoded-word, encoded otherwise.
std::vector<std::string> unstructured_tokens(std::string_view text) {
  if (is_printable_ascii(text) && text.find("=?") == std::string_view::npos) {
    auto words = split_spaces(text);
    bool fits = true;
    for (const auto& w : words)
      fits = fits && w.size() <= 66;
    if (fits)
      return words;
  }
  return encoded_word_tokens(text);
}

/// A display name as a phrase: a quoted-string when it is short printable
/// ASCII, encoded-words otherwise.
std::vector<std::string> phrase_tokens(std::string_view name) {
  if (is_printable_ascii(name) && name.size() <= 60
      && name.find("=?") == std::string_view::npos) {
    std::string q = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\')
        q += '\\';
      q += c;
    }
    q += '"';
    return {q};
  }
  return encoded_word_tokens(name);
}

result<std::string> mailbox_header(const char* name, const mailbox& mb) {
  if (has_control(mb.display_name) || has_control(mb.address))
    return error{errc::invalid_header,
                 std::string(name) + " contains a control character"};
  if (!is_valid_utf8(mb.display_name))
    return error{errc::invalid_utf8,
                 std::string(name) + " display name is not UTF-8"};
  if (!is_valid_address(mb.address))
    return error{errc::invalid_address,
                 std::string(name) + " address is not acceptable"};
  std::string out = std::string(name) + ":";
  std::size_t col = out.size();
  // The empty first token yields the single space after the colon.
  std::vector<std::string> tokens{""};
  if (!mb.display_name.empty()) {
    auto words = phrase_tokens(mb.display_name);
    tokens.insert(tokens.end(), words.begin(), words.end());
    tokens.push_back("<" + mb.address + ">");
  } else {
    tokens.push_back(mb.address);
  }
  append_folded(out, col, tokens);
  out += "\r\n";
  return out;
}

bool is_message_id(std::string_view id) {
  if (id.size() < 5 || id.size() > 250 || id.front() != '<' || id.back() != '>')
    return false;
  auto inner = id.substr(1, id.size() - 2);
  auto at = inner.find('@');
  if (at == std::string_view::npos || inner.find('@', at + 1) != inner.npos)
    return false;
  return is_dot_atom(inner.substr(0, at)) && is_dot_atom(inner.substr(at + 1));
}

bool is_language_tag(std::string_view s) {
  if (s.empty() || s.size() > 35)
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
      return false;
  return true;
}

} // namespace

bool is_valid_address(std::string_view address) {
  if (address.size() > 254)
    return false;
  auto at = address.rfind('@');
  if (at == std::string_view::npos)
    return false;
  auto local = address.substr(0, at);
  return local.size() <= 64 && is_dot_atom(local)
         && is_host_name(address.substr(at + 1));
}

std::string make_message_id(std::string_view unique, std::string_view domain) {
  std::string out = "<";
  out += unique;
  out += '@';
  out += domain;
  out += '>';
  return out;
}

std::string_view address_domain(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view{}
                                      : address.substr(at + 1);
}

std::string format_date(std::chrono::system_clock::time_point t) {
  // Names are spelled out rather than taken from strftime so that the
  // process locale can never leak into a header.
  static constexpr const char* days[]
      = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[]
      = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string encode_words(std::string_view text) {
  std::string out;
  std::size_t col = 0;
  append_folded(out, col, encoded_word_tokens(text));
  return out;
}

std::string quoted_printable_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  std::size_t i = 0;
  while (i <= text.size()) {
    // One logical line: up to the next CR or LF.
    auto end = text.find_first_of("\r\n", i);
    if (end == std::string_view::npos)
      end = text.size();
    auto line = text.substr(i, end - i);
    std::size_t col = 0;
    for (std::size_t k = 0; k < line.size(); ++k) {
      auto c = static_cast<unsigned char>(line[k]);
      bool last = k + 1 == line.size();
      bool literal = (c >= 33 && c <= 126 && c != '=')
                     || ((c == ' ' || c == '\t') && !last);
      if (col == 0 && (c == '.' || (c == 'F' && line.substr(k, 5) == "From ")))
        literal = false;
      char token[3];
      std::size_t n = 1;
      if (literal) {
        token[0] = static_cast<char>(c);
      } else {
        token[0] = '=';
        token[1] = hex[c >> 4];
        token[2] = hex[c & 0xf];
        n = 3;
      }
      // Keep one column for the soft-break '=' unless this is the line's end.
      std::size_t limit = last ? max_qp_line : max_qp_line - 1;
      if (col + n > limit) {
        out += "=\r\n";
        col = 0;
        // A '.' that now starts a physical line gets encoded as well.
        if (literal && c == '.') {
          token[0] = '=';
          token[1] = hex[c >> 4];
          token[2] = hex[c & 0xf];
          n = 3;
        }
      }
      out.append(token, n);
      col += n;
    }
    if (end >= text.size())
      break;
    out += "\r\n";
    // CRLF is one break; a lone CR or LF is one break as well.
    i = end
        + ((text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n')
               ? 2
               : 1);
    if (i == text.size())
      break; // the text ended with a line break: nothing follows it
  }
  return out;
}

result<std::string> build_message(const message_fields& f) {
  if (has_control(f.subject))
    return error{errc::invalid_header, "Subject contains a control character"};
  if (!is_valid_utf8(f.subject) || !is_valid_utf8(f.text)
      || !is_valid_utf8(f.html))
    return error{errc::invalid_utf8, "subject or body is not UTF-8"};
  if (!is_message_id(f.message_id))
    return error{errc::invalid_message_id,
                 "Message-ID must look like <left@right>"};
  if (!f.language.empty() && !is_language_tag(f.language))
    return error{errc::invalid_header,
                 "Content-Language is not a language tag"};
  auto from = mailbox_header("From", f.from);
  if (!from)
    return from.err();
  auto to = mailbox_header("To", f.to);
  if (!to)
    return to.err();
  std::string boundary = f.boundary;
  if (boundary.empty()) {
    // "=_" cannot occur in quoted-printable output ('=' is always followed by
    // two hex digits or a line break), so no body line can match it.
    boundary = "=_" + auth::random_token(24);
  } else if (boundary.size() > 70 || !is_printable_ascii(boundary)
             || boundary.find('"') != std::string::npos) {
    return error{errc::invalid_header, "bad multipart boundary"};
  }

  std::string m;
  m += "Date: " + format_date(f.date) + "\r\n";
  m += *from;
  m += *to;
  m += "Subject:";
  std::size_t col = m.size() - m.rfind('\n') - 1;
  std::vector<std::string> subject{""};
  auto words = unstructured_tokens(f.subject);
  subject.insert(subject.end(), words.begin(), words.end());
  append_folded(m, col, subject);
  m += "\r\n";
  m += "Message-ID: " + f.message_id + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  // RFC 3834: tells auto-responders (vacation replies) to stay quiet.
  m += "Auto-Submitted: auto-generated\r\n";
  if (!f.language.empty())
    m += "Content-Language: " + f.language + "\r\n";
  m += "Content-Type: multipart/alternative;\r\n boundary=\"" + boundary
       + "\"\r\n";
  m += "\r\n";
  m += "This is a multi-part message in MIME format.\r\n";
  auto part = [&](const char* type, const std::string& body) {
    m += "\r\n--" + boundary + "\r\n";
    m += std::string("Content-Type: ") + type + "; charset=UTF-8\r\n";
    m += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
    m += quoted_printable_encode(body);
  };
  part("text/plain", f.text);
  part("text/html", f.html);
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

} // namespace authsvc::mail
