// MIME building from user-controlled fields (display names, addresses,
// subjects, template output, language): input is '\n'-separated fields. A
// message that builds must keep its header block intact: every header line
// is a known header or a folded continuation, so no field can inject a
// header (Bcc:, a second To:) or end the header block early.
#include <array>
#include <string_view>

#include "mail/mime.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace authsvc::mail;
using authsvc::fuzz::check;

namespace {

bool known_header(std::string_view line) {
  static constexpr std::array<std::string_view, 10> names{
      "From:",
      "To:",
      "Subject:",
      "Date:",
      "Message-ID:",
      "MIME-Version:",
      "Content-Type:",
      "Content-Transfer-Encoding:",
      "Content-Language:",
      "Auto-Submitted:"};
  for (auto n : names)
    if (line.substr(0, n.size()) == n)
      return true;
  return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto f = authsvc::fuzz::fields_of(authsvc::fuzz::as_text(data, size), 8);
  message_fields m;
  m.from = {f[0], "no-reply@example.com"};
  m.to = {f[1], f[2]};
  m.subject = f[3];
  m.text = f[4];
  m.html = f[5];
  m.language = f[6];
  // Even sizes feed the Message-ID as given, odd ones through the builder.
  m.message_id = size % 2 == 0 ? f[7] : make_message_id(f[7], "example.com");
  m.date
      = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  (void)encode_words(f[3]);
  (void)quoted_printable_encode(f[4]);
  (void)address_domain(f[2]);
  auto built = build_message(m);
  if (!built)
    return 0;
  std::string_view msg = *built;
  auto end = msg.find("\r\n\r\n");
  check(end != std::string_view::npos, "no end of the header block");
  auto headers = msg.substr(0, end + 2);
  std::size_t pos = 0;
  while (pos < headers.size()) {
    auto eol = headers.find("\r\n", pos);
    check(eol != std::string_view::npos, "a header line without CRLF");
    auto line = headers.substr(pos, eol - pos);
    check(!line.empty(), "an empty header line");
    check(line[0] == ' ' || line[0] == '\t' || known_header(line),
          "an unknown header line (header injection)");
    for (char c : line)
      check(c != '\r' && c != '\n' && c != '\0', "a bare CR, LF or NUL");
    pos = eol + 2;
  }
  return 0;
}
