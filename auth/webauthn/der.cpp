#include "auth/webauthn/der.hpp"

#include <limits>

#include <openssl/asn1.h>

namespace authsvc::auth::webauthn {

std::optional<der_element> der_reader::next() {
  if (failed_ || pos_ >= end_)
    return std::nullopt;
  auto remaining = static_cast<std::size_t>(end_ - pos_);
  if (remaining > static_cast<std::size_t>(std::numeric_limits<long>::max())) {
    failed_ = true;
    return std::nullopt;
  }
  const unsigned char* p = pos_;
  long len = 0;
  int tag = 0;
  int cls = 0;
  int ret = ASN1_get_object(&p, &len, &tag, &cls, static_cast<long>(remaining));
  // 0x80: error (including a length beyond the buffer); 0x21: indefinite.
  if ((ret & 0x80) != 0 || ret == 0x21 || len < 0
      || static_cast<std::size_t>(len) > static_cast<std::size_t>(end_ - p)) {
    failed_ = true;
    return std::nullopt;
  }
  der_element e;
  e.tag = tag;
  e.cls = cls;
  e.constructed = (ret & V_ASN1_CONSTRUCTED) != 0;
  e.start = pos_;
  e.content = p;
  e.length = static_cast<std::size_t>(len);
  e.total = static_cast<std::size_t>(p - pos_) + e.length;
  pos_ = p + len;
  return e;
}

std::optional<std::int64_t> der_integer(const der_element& element) {
  if (element.cls != V_ASN1_UNIVERSAL || element.constructed)
    return std::nullopt;
  const unsigned char* p = element.start;
  auto len = static_cast<long>(element.total);
  std::int64_t value = 0;
  if (element.tag == V_ASN1_INTEGER) {
    ASN1_INTEGER* i = d2i_ASN1_INTEGER(nullptr, &p, len);
    if (i == nullptr)
      return std::nullopt;
    int ok = ASN1_INTEGER_get_int64(&value, i);
    ASN1_INTEGER_free(i);
    if (ok != 1)
      return std::nullopt;
    return value;
  }
  if (element.tag == V_ASN1_ENUMERATED) {
    ASN1_ENUMERATED* i = d2i_ASN1_ENUMERATED(nullptr, &p, len);
    if (i == nullptr)
      return std::nullopt;
    int ok = ASN1_ENUMERATED_get_int64(&value, i);
    ASN1_ENUMERATED_free(i);
    if (ok != 1)
      return std::nullopt;
    return value;
  }
  return std::nullopt;
}

} // namespace authsvc::auth::webauthn
