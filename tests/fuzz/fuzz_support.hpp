#pragma once
// Helpers shared by the libFuzzer targets: a fuzz input cut into fields, and
// a check that aborts (a finding) when an invariant of the parser breaks.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc::fuzz {

/// The input as text (no copy).
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// The input cut at each '\n' into at most `count` fields (the last one
/// keeps the rest, newlines included); missing fields are empty. Seeds stay
/// readable and mutations still reach every field.
inline std::vector<std::string> fields_of(std::string_view text,
                                          std::size_t count) {
  std::vector<std::string> out;
  while (out.size() + 1 < count) {
    auto nl = text.find('\n');
    if (nl == std::string_view::npos)
      break;
    out.emplace_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  out.emplace_back(text);
  out.resize(count);
  return out;
}

/// A broken invariant: print why and abort, so libFuzzer saves the input.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

inline void check(bool ok, const char* what) {
  if (!ok)
    fail(what);
}

} // namespace authsvc::fuzz
