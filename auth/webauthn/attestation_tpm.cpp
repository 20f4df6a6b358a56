// §8.3 TPM attestation: an AIK certificate signs a TPMS_ATTEST (certInfo)
// that certifies the TPMT_PUBLIC (pubArea) holding the credential key.
// The TPM structures are big-endian binary (TPM 2.0 Part 2), read here with
// explicit bounds on every field.
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "auth/webauthn/attestation_formats.hpp"

namespace authsvc::auth::webauthn::formats {

namespace {

// TPM 2.0 Part 2 constants.
constexpr std::uint32_t tpm_generated_value = 0xff544347;
constexpr std::uint16_t tpm_st_attest_certify = 0x8017;
constexpr std::uint16_t tpm_alg_rsa = 0x0001;
constexpr std::uint16_t tpm_alg_sha1 = 0x0004;
constexpr std::uint16_t tpm_alg_sha256 = 0x000b;
constexpr std::uint16_t tpm_alg_sha384 = 0x000c;
constexpr std::uint16_t tpm_alg_sha512 = 0x000d;
constexpr std::uint16_t tpm_alg_null = 0x0010;
constexpr std::uint16_t tpm_alg_ecc = 0x0023;
constexpr std::uint16_t tpm_ecc_nist_p256 = 0x0003;
constexpr std::uint16_t tpm_ecc_nist_p384 = 0x0004;
constexpr std::uint16_t tpm_ecc_nist_p521 = 0x0005;

// A bounds-checked big-endian cursor; any overrun latches `ok = false`.
class tpm_reader {
public:
  explicit tpm_reader(const bytes& data) : data_(data) {}

  bool ok() const { return ok_; }

  bool at_end() const { return pos_ == data_.size(); }

  std::uint64_t uint(std::size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
      v = (v << 8) | data_[pos_++];
    return v;
  }

  std::uint16_t u16() { return static_cast<std::uint16_t>(uint(2)); }

  std::uint32_t u32() { return static_cast<std::uint32_t>(uint(4)); }

  bytes raw(std::size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    bytes out(data_.begin() + static_cast<long>(pos_),
              data_.begin() + static_cast<long>(pos_ + n));
    pos_ += n;
    return out;
  }

  // A TPM2B: 16-bit size followed by that many bytes.
  bytes sized() { return raw(u16()); }

private:
  const bytes& data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

struct pub_area {
  std::uint16_t type = 0;
  std::uint16_t name_alg = 0;
  std::uint16_t curve = 0;
  std::uint32_t exponent = 0;
  bytes unique_rsa;
  bytes unique_x, unique_y;
};

std::optional<pub_area> read_pub_area(const bytes& raw) {
  tpm_reader r{raw};
  pub_area out;
  out.type = r.u16();
  out.name_alg = r.u16();
  r.u32();   // objectAttributes
  r.sized(); // authPolicy
  // symmetric (TPMT_SYM_DEF_OBJECT): keyBits and mode follow unless NULL.
  if (r.u16() != tpm_alg_null) {
    r.u16();
    r.u16();
  }
  // scheme: a hash algorithm follows unless NULL.
  if (r.u16() != tpm_alg_null)
    r.u16();
  if (out.type == tpm_alg_rsa) {
    r.u16(); // keyBits
    out.exponent = r.u32();
    out.unique_rsa = r.sized();
  } else if (out.type == tpm_alg_ecc) {
    out.curve = r.u16();
    if (r.u16() != tpm_alg_null) // kdf
      r.u16();
    out.unique_x = r.sized();
    out.unique_y = r.sized();
  } else {
    return std::nullopt;
  }
  if (!r.ok() || !r.at_end())
    return std::nullopt;
  return out;
}

struct cert_info {
  std::uint32_t magic = 0;
  std::uint16_t type = 0;
  bytes extra_data;
  bytes attested_name;
};

std::optional<cert_info> read_cert_info(const bytes& raw) {
  tpm_reader r{raw};
  cert_info out;
  out.magic = r.u32();
  out.type = r.u16();
  r.sized(); // qualifiedSigner
  out.extra_data = r.sized();
  r.raw(17); // clockInfo: clock, resetCount, restartCount, safe
  r.raw(8);  // firmwareVersion
  out.attested_name = r.sized();
  r.sized(); // qualifiedName
  if (!r.ok() || !r.at_end())
    return std::nullopt;
  return out;
}

const EVP_MD* name_digest(std::uint16_t alg) {
  switch (alg) {
  case tpm_alg_sha1:
    return EVP_sha1();
  case tpm_alg_sha256:
    return EVP_sha256();
  case tpm_alg_sha384:
    return EVP_sha384();
  case tpm_alg_sha512:
    return EVP_sha512();
  default:
    return nullptr;
  }
}

bytes strip_leading_zeros(const bytes& b) {
  std::size_t i = 0;
  while (i + 1 < b.size() && b[i] == 0)
    ++i;
  return bytes(b.begin() + static_cast<long>(i), b.end());
}

bool key_matches(const pub_area& area, const cose_key& key) {
  if (area.type == tpm_alg_rsa) {
    if (key.kty != cose_kty::rsa)
      return false;
    // An exponent of 0 means the TPM default 2^16 + 1.
    std::uint32_t e = area.exponent == 0 ? 65537 : area.exponent;
    bytes e_bytes{
        static_cast<std::uint8_t>(e >> 24), static_cast<std::uint8_t>(e >> 16),
        static_cast<std::uint8_t>(e >> 8), static_cast<std::uint8_t>(e)};
    return strip_leading_zeros(area.unique_rsa) == strip_leading_zeros(key.n)
           && strip_leading_zeros(e_bytes) == strip_leading_zeros(key.e);
  }
  if (key.kty != cose_kty::ec2)
    return false;
  int crv = area.curve == tpm_ecc_nist_p256   ? 1
            : area.curve == tpm_ecc_nist_p384 ? 2
            : area.curve == tpm_ecc_nist_p521 ? 3
                                              : 0;
  return crv == key.crv && area.unique_x == key.x && area.unique_y == key.y;
}

bool has_oid(X509_NAME* name, const ASN1_OBJECT* oid) {
  return X509_NAME_get_index_by_OBJ(name, oid, -1) >= 0;
}

// §8.3.1 TPM AIK certificate requirements.
status check_aik_certificate(X509* cert, const bytes& aaguid) {
  using E = errc;
  if (!is_v3_end_entity(cert))
    return {E::attestation_certificate_invalid, "AIK not a v3 end entity"};
  if (X509_NAME_entry_count(X509_get_subject_name(cert)) != 0)
    return {E::attestation_certificate_invalid, "AIK subject not empty"};
  // The SAN carries tcg-at-tpmManufacturer, tpmModel and tpmVersion.
  using oid_ptr = std::unique_ptr<ASN1_OBJECT,
                                  ossl::deleter<ASN1_OBJECT, ASN1_OBJECT_free>>;
  oid_ptr manufacturer{OBJ_txt2obj("2.23.133.2.1", 1)};
  oid_ptr model{OBJ_txt2obj("2.23.133.2.2", 1)};
  oid_ptr version{OBJ_txt2obj("2.23.133.2.3", 1)};
  oid_ptr aik_usage{OBJ_txt2obj("2.23.133.8.3", 1)};
  if (!manufacturer || !model || !version || !aik_usage)
    return {E::attestation_certificate_invalid, "OID table"};
  std::unique_ptr<GENERAL_NAMES,
                  ossl::deleter<GENERAL_NAMES, GENERAL_NAMES_free>>
      names{static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))};
  bool san_ok = false;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type != GEN_DIRNAME)
      continue;
    X509_NAME* dn = gn->d.directoryName;
    san_ok |= has_oid(dn, manufacturer.get()) && has_oid(dn, model.get())
              && has_oid(dn, version.get());
  }
  if (!san_ok)
    return {E::attestation_certificate_invalid, "AIK SAN lacks TPM info"};
  std::unique_ptr<EXTENDED_KEY_USAGE,
                  ossl::deleter<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>>
      eku{static_cast<EXTENDED_KEY_USAGE*>(
          X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr))};
  bool eku_ok = false;
  for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku.get()); ++i)
    eku_ok |= OBJ_cmp(sk_ASN1_OBJECT_value(eku.get(), i), aik_usage.get()) == 0;
  if (!eku_ok)
    return {E::attestation_certificate_invalid, "AIK lacks EKU 2.23.133.8.3"};
  return check_aaguid_extension(cert, aaguid);
}

} // namespace

result<attestation_outcome> verify_tpm(const statement_input& in) {
  using E = errc;
  auto ver = cbor_to_text(cbor_map_find(in.statement, "ver"));
  auto cert_info_raw = cbor_to_bytes(cbor_map_find(in.statement, "certInfo"));
  auto pub_area_raw = cbor_to_bytes(cbor_map_find(in.statement, "pubArea"));
  if (!ver || !cert_info_raw || !pub_area_raw)
    return {E::attestation_statement_invalid, "ver/certInfo/pubArea missing"};
  if (*ver != "2.0")
    return {E::attestation_statement_invalid, "ver is not 2.0"};
  auto as = read_alg_and_sig(in.statement);
  if (!as)
    return as.err();
  auto* x5c = cbor_map_find(in.statement, "x5c");
  if (x5c == nullptr)
    return {E::unsupported_attestation_format, "TPM without x5c (ECDAA)"};
  auto area = read_pub_area(*pub_area_raw);
  if (!area)
    return {E::tpm_attestation_invalid, "malformed pubArea"};
  if (!key_matches(*area, in.auth_data.attested->public_key))
    return {E::attestation_public_key_mismatch, "pubArea key"};
  auto info = read_cert_info(*cert_info_raw);
  if (!info)
    return {E::tpm_attestation_invalid, "malformed certInfo"};
  if (info->magic != tpm_generated_value || info->type != tpm_st_attest_certify)
    return {E::tpm_attestation_invalid, "certInfo magic/type"};
  auto expected_extra = digest_for_algorithm(as->alg, in.signed_data());
  if (!expected_extra || info->extra_data != *expected_extra)
    return {E::attestation_nonce_mismatch, "certInfo.extraData"};
  // attested.name = nameAlg || H_nameAlg(pubArea).
  const EVP_MD* md = name_digest(area->name_alg);
  if (md == nullptr)
    return {E::tpm_attestation_invalid, "pubArea nameAlg"};
  bytes name{static_cast<std::uint8_t>(area->name_alg >> 8),
             static_cast<std::uint8_t>(area->name_alg)};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(pub_area_raw->data(), pub_area_raw->size(), digest,
                 &digest_len, md, nullptr)
      != 1)
    return {E::tpm_attestation_invalid, "digest"};
  name.insert(name.end(), digest, digest + digest_len);
  if (info->attested_name != name)
    return {E::tpm_attestation_invalid, "certInfo.attested.name"};
  auto chain = parse_x5c(x5c);
  if (!chain)
    return chain.err();
  X509* aik = chain->front().get();
  if (!verify_signature(as->alg, X509_get0_pubkey(aik), *cert_info_raw,
                        as->sig))
    return {E::attestation_signature_invalid, "certInfo signature"};
  if (auto st = check_aik_certificate(aik, in.auth_data.attested->aaguid); !st)
    return st.err();
  return outcome_from_chain(*chain, in.policy, attestation_type::attca);
}

} // namespace authsvc::auth::webauthn::formats
