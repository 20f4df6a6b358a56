#include "net/client_identity.hpp"

#include <algorithm>

#include <openssl/x509v3.h>

namespace authsvc::net {

namespace {

std::string text_of(const ASN1_STRING* s) {
  if (!s)
    return {};
  auto data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(s));
  auto len = static_cast<std::size_t>(ASN1_STRING_length(s));
  std::string out{data, len};
  // A name with an embedded NUL would compare equal to its prefix in C
  // APIs; it is no name of ours.
  if (out.find('\0') != std::string::npos)
    return {};
  return out;
}

} // namespace

std::vector<std::string> certificate_names(X509* cert) {
  std::vector<std::string> out;
  if (!cert)
    return out;
  if (auto* subject = X509_get_subject_name(cert)) {
    int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (i >= 0)
      if (auto cn
          = text_of(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
          !cn.empty())
        out.push_back(std::move(cn));
  }
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      auto* n = sk_GENERAL_NAME_value(sans, i);
      std::string v;
      if (n->type == GEN_DNS || n->type == GEN_URI || n->type == GEN_EMAIL)
        v = text_of(n->d.ia5);
      if (!v.empty() && std::find(out.begin(), out.end(), v) == out.end())
        out.push_back(std::move(v));
    }
    GENERAL_NAMES_free(sans);
  }
  return out;
}

std::string allowed_identity(const std::vector<std::string>& names,
                             const std::vector<std::string>& allowed) {
  if (names.empty())
    return {};
  for (const auto& a : allowed) {
    if (a == "*")
      return names.front();
    if (std::find(names.begin(), names.end(), a) != names.end())
      return a;
  }
  return {};
}

} // namespace authsvc::net
