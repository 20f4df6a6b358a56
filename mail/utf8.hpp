#pragma once
// UTF-8 checks shared by templates and MIME building.
#include <cstddef>
#include <string_view>

namespace authsvc::mail {

/// @returns whether `s` is well-formed UTF-8 (no overlong forms, surrogates
///          or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s);

/// @returns the length in bytes of the UTF-8 sequence starting with `lead`,
///          or 1 for a byte that cannot start one.
/// @pre the text was checked with `is_valid_utf8`.
std::size_t utf8_sequence_length(unsigned char lead);

} // namespace authsvc::mail
