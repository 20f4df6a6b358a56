#pragma once
// A cursor over DER TLVs built on OpenSSL's ASN1_get_object, for the few
// certificate extensions (Android KeyDescription, Apple nonce) that OpenSSL
// has no typed decoder for.
#include <cstddef>
#include <cstdint>
#include <optional>

namespace authsvc::auth::webauthn {

/// One DER element: tag, class and the span of its contents.
struct der_element {
  int tag = 0;
  /// V_ASN1_UNIVERSAL, V_ASN1_CONTEXT_SPECIFIC, ...
  int cls = 0;
  bool constructed = false;
  /// Start of the whole TLV.
  const std::uint8_t* start = nullptr;
  /// Start and length of the contents.
  const std::uint8_t* content = nullptr;
  std::size_t length = 0;
  /// Length of the whole TLV.
  std::size_t total = 0;
};

/// Reads consecutive DER elements from a buffer.
class der_reader {
public:
  // -- constructors --

  der_reader(const std::uint8_t* data, std::size_t size)
      : pos_(data), end_(data + size) {}

  /// Reads the children of a constructed element.
  explicit der_reader(const der_element& parent)
      : der_reader(parent.content, parent.length) {}

  // -- properties --

  /// True when all input has been read.
  bool empty() const noexcept { return pos_ == end_; }

  /// True once a malformed element was met; every later read fails.
  bool failed() const noexcept { return failed_; }

  // -- reading --

  /// The next element, or nullopt at the end or on malformed input
  /// (indefinite lengths are malformed in DER).
  std::optional<der_element> next();

private:
  // -- member variables --

  const std::uint8_t* pos_;
  const std::uint8_t* end_;
  bool failed_ = false;
};

/// The value of an INTEGER or ENUMERATED element that fits int64.
std::optional<std::int64_t> der_integer(const der_element& element);

} // namespace authsvc::auth::webauthn
