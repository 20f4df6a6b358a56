#pragma once
// Thin, bounds-checked access to libcbor items. Every WebAuthn CBOR input is
// untrusted, so decoding first walks the item with libcbor's streaming
// decoder and rejects absurd declared sizes before libcbor allocates them.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <cbor.h>

#include "auth/encoding.hpp"

namespace authsvc::auth::webauthn {

/// Releases a libcbor item reference.
struct cbor_deleter {
  void operator()(cbor_item_t* item) const noexcept { cbor_decref(&item); }
};

/// An owned libcbor item.
using cbor_ptr = std::unique_ptr<cbor_item_t, cbor_deleter>;

/// Decodes the first CBOR item in `[data, data + size)`.
/// @param consumed receives the item's encoded length; trailing bytes are
///        left to the caller (authenticatorData puts extensions after the key).
/// @returns nullptr for malformed, truncated, too deeply nested (> 16 levels)
///          or implausibly sized input.
cbor_ptr cbor_decode(const std::uint8_t* data, std::size_t size,
                     std::size_t& consumed);

/// The value stored under a text key of a map, or nullptr.
const cbor_item_t* cbor_map_find(const cbor_item_t* map, std::string_view key);

/// The value stored under an integer key of a map, or nullptr.
const cbor_item_t* cbor_map_find(const cbor_item_t* map, std::int64_t key);

/// The content of a (definite or chunked) byte string.
std::optional<bytes> cbor_to_bytes(const cbor_item_t* item);

/// The content of a (definite or chunked) text string.
std::optional<std::string> cbor_to_text(const cbor_item_t* item);

/// An unsigned or negative integer that fits int64.
std::optional<std::int64_t> cbor_to_int(const cbor_item_t* item);

} // namespace authsvc::auth::webauthn
