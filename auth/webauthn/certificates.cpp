#include "auth/webauthn/certificates.hpp"

#include <limits>

#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace authsvc::auth::webauthn {

namespace {

ossl::x509_ptr parse_anchor(const std::string& text) {
  if (text.find("-----BEGIN") != std::string::npos) {
    std::unique_ptr<BIO, ossl::deleter<BIO, BIO_free_all>> bio{
        BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))};
    if (!bio)
      return nullptr;
    return ossl::x509_ptr{
        PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  }
  return parse_der_certificate(bytes(text.begin(), text.end()));
}

// Frees the stack only: the certificates stay owned by the chain.
struct stack_deleter {
  void operator()(STACK_OF(X509) * stack) const noexcept {
    sk_X509_free(stack);
  }
};

// True when `t` lies within [notBefore, notAfter].
bool valid_at(X509* cert, std::int64_t t) {
  auto tt = static_cast<time_t>(t);
  return ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert), tt) <= 0
         && ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert), tt) >= 0;
}

} // namespace

ossl::x509_ptr parse_der_certificate(const bytes& der) {
  if (der.empty()
      || der.size()
             > static_cast<std::size_t>(std::numeric_limits<long>::max()))
    return nullptr;
  const unsigned char* p = der.data();
  ossl::x509_ptr cert{d2i_X509(nullptr, &p, static_cast<long>(der.size()))};
  if (!cert || p != der.data() + der.size())
    return nullptr;
  return cert;
}

result<certificate_chain> parse_x5c(const cbor_item_t* x5c) {
  if (x5c == nullptr || !cbor_isa_array(x5c) || cbor_array_size(x5c) == 0)
    return {errc::attestation_statement_invalid,
            "x5c is not a non-empty array"};
  certificate_chain chain;
  auto** items = cbor_array_handle(x5c);
  for (std::size_t i = 0; i < cbor_array_size(x5c); ++i) {
    auto der = cbor_to_bytes(items[i]);
    if (!der)
      return {errc::attestation_statement_invalid, "x5c entry is not bytes"};
    auto cert = parse_der_certificate(*der);
    if (!cert)
      return {errc::attestation_certificate_invalid, "x5c entry is not X.509"};
    chain.push_back(std::move(cert));
  }
  return chain;
}

std::vector<bytes> to_der(const certificate_chain& chain) {
  std::vector<bytes> out;
  for (const auto& cert : chain) {
    int len = i2d_X509(cert.get(), nullptr);
    if (len <= 0)
      continue;
    bytes der(static_cast<std::size_t>(len));
    unsigned char* p = der.data();
    i2d_X509(cert.get(), &p);
    out.push_back(std::move(der));
  }
  return out;
}

status validate_trust_path(const certificate_chain& chain,
                           const attestation_policy& policy, bool& chained) {
  chained = false;
  if (chain.empty())
    return {errc::attestation_trust_path_invalid, "empty chain"};
  for (const auto& cert : chain)
    if (!valid_at(cert.get(), policy.verify_time))
      return {errc::attestation_trust_path_invalid,
              "certificate outside its validity period"};
  if (policy.trust_anchors.empty())
    return passed{};
  ossl::store_ptr store{X509_STORE_new()};
  if (!store)
    return {errc::attestation_trust_path_invalid, "no store"};
  for (const auto& anchor : policy.trust_anchors) {
    auto cert = parse_anchor(anchor.certificate);
    if (!cert || X509_STORE_add_cert(store.get(), cert.get()) != 1)
      return {errc::attestation_trust_path_invalid,
              "unusable trust anchor " + anchor.name};
  }
  std::unique_ptr<STACK_OF(X509), stack_deleter> untrusted{sk_X509_new_null()};
  if (!untrusted)
    return {errc::attestation_trust_path_invalid, "no stack"};
  for (std::size_t i = 1; i < chain.size(); ++i)
    sk_X509_push(untrusted.get(), chain[i].get());
  ossl::store_ctx_ptr ctx{X509_STORE_CTX_new()};
  if (!ctx
      || X509_STORE_CTX_init(ctx.get(), store.get(), chain.front().get(),
                             untrusted.get())
             != 1)
    return {errc::attestation_trust_path_invalid, "no context"};
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(policy.verify_time));
  // Vendors publish intermediates as attestation roots, so an anchor need
  // not be self-signed.
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    return {errc::attestation_trust_path_invalid,
            X509_verify_cert_error_string(err)};
  }
  chained = true;
  return passed{};
}

result<attestation_outcome> outcome_from_chain(const certificate_chain& chain,
                                               const attestation_policy& policy,
                                               attestation_type type) {
  attestation_outcome out;
  out.type = type;
  if (auto st = validate_trust_path(chain, policy, out.chained_to_anchor); !st)
    return st.err();
  out.trust_path = to_der(chain);
  return out;
}

std::optional<bytes> extension_value(X509* cert, const char* oid,
                                     bool* critical) {
  std::unique_ptr<ASN1_OBJECT, ossl::deleter<ASN1_OBJECT, ASN1_OBJECT_free>>
      obj{OBJ_txt2obj(oid, 1)};
  if (!obj)
    return std::nullopt;
  int idx = X509_get_ext_by_OBJ(cert, obj.get(), -1);
  if (idx < 0)
    return std::nullopt;
  X509_EXTENSION* ext = X509_get_ext(cert, idx);
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  if (data == nullptr)
    return std::nullopt;
  if (critical != nullptr)
    *critical = X509_EXTENSION_get_critical(ext) != 0;
  const unsigned char* p = ASN1_STRING_get0_data(data);
  return bytes(p, p + ASN1_STRING_length(data));
}

status check_aaguid_extension(X509* cert, const bytes& aaguid) {
  bool critical = false;
  auto value = extension_value(cert, "1.3.6.1.4.1.45724.1.1.4", &critical);
  if (!value)
    return passed{};
  // extnValue holds an OCTET STRING of the 16 AAGUID bytes (§8.2.1).
  const unsigned char* p = value->data();
  std::unique_ptr<ASN1_OCTET_STRING,
                  ossl::deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>
      inner{
          d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(value->size()))};
  if (critical || !inner || p != value->data() + value->size())
    return {errc::attestation_aaguid_mismatch, "malformed aaguid extension"};
  const unsigned char* d = ASN1_STRING_get0_data(inner.get());
  if (bytes(d, d + ASN1_STRING_length(inner.get())) != aaguid)
    return {errc::attestation_aaguid_mismatch, "aaguid extension differs"};
  return passed{};
}

bool is_v3_end_entity(X509* cert) {
  if (X509_get_version(cert) != X509_VERSION_3)
    return false;
  // Computes the cached extension flags; EXFLAG_CA reflects cA = TRUE.
  uint32_t flags = X509_get_extension_flags(cert);
  return (flags & EXFLAG_CA) == 0;
}

} // namespace authsvc::auth::webauthn
