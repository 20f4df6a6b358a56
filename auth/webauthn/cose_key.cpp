#include "auth/webauthn/cose_key.hpp"

#include <algorithm>
#include <cstring>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "auth/webauthn/cbor.hpp"
#include "auth/webauthn/ossl.hpp"

namespace authsvc::auth::webauthn {

namespace {

// COSE_Key labels (RFC 9052 §7.1, RFC 9053 §7).
constexpr std::int64_t label_kty = 1;
constexpr std::int64_t label_alg = 3;
constexpr std::int64_t label_crv = -1;
constexpr std::int64_t label_x = -2;
constexpr std::int64_t label_y = -3;
constexpr std::int64_t label_rsa_n = -1;
constexpr std::int64_t label_rsa_e = -2;

// COSE elliptic curves (RFC 9053 §7.1).
constexpr int crv_p256 = 1;
constexpr int crv_p384 = 2;
constexpr int crv_p521 = 3;
constexpr int crv_ed25519 = 6;

struct param_bld_deleter {
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct param_deleter {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};

// Builds a public key of OpenSSL type `type` from parameters.
template <class Push>
std::shared_ptr<EVP_PKEY> from_params(const char* type, Push push) {
  std::unique_ptr<OSSL_PARAM_BLD, param_bld_deleter> bld{OSSL_PARAM_BLD_new()};
  if (!bld || !push(bld.get()))
    return nullptr;
  std::unique_ptr<OSSL_PARAM, param_deleter> params{
      OSSL_PARAM_BLD_to_param(bld.get())};
  ossl::pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr)};
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1)
    return nullptr;
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get())
      != 1)
    return nullptr;
  return {raw, EVP_PKEY_free};
}

struct curve_info {
  const char* group;
  std::size_t coordinate_size;
  int alg;
};

std::optional<curve_info> ec_curve(int crv) {
  switch (crv) {
  case crv_p256:
    return curve_info{"P-256", 32, cose_alg::es256};
  case crv_p384:
    return curve_info{"P-384", 48, cose_alg::es384};
  case crv_p521:
    return curve_info{"P-521", 66, cose_alg::es512};
  default:
    return std::nullopt;
  }
}

bool is_rsa_algorithm(int alg) {
  switch (alg) {
  case cose_alg::ps256:
  case cose_alg::ps384:
  case cose_alg::ps512:
  case cose_alg::rs256:
  case cose_alg::rs384:
  case cose_alg::rs512:
  case cose_alg::rs1:
    return true;
  default:
    return false;
  }
}

const EVP_MD* md_for(int alg) {
  switch (alg) {
  case cose_alg::es256:
  case cose_alg::ps256:
  case cose_alg::rs256:
    return EVP_sha256();
  case cose_alg::es384:
  case cose_alg::ps384:
  case cose_alg::rs384:
    return EVP_sha384();
  case cose_alg::es512:
  case cose_alg::ps512:
  case cose_alg::rs512:
    return EVP_sha512();
  case cose_alg::rs1:
    return EVP_sha1();
  default:
    return nullptr;
  }
}

bool public_check(EVP_PKEY* key) {
  ossl::pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr)};
  return ctx && EVP_PKEY_public_check(ctx.get()) == 1;
}

result<cose_key> decode(const cbor_item_t* map, bytes encoded) {
  using E = errc;
  if (!cbor_isa_map(map))
    return {E::invalid_credential_public_key, "COSE key is not a map"};
  cose_key key;
  key.encoded = std::move(encoded);
  auto kty = cbor_to_int(cbor_map_find(map, label_kty));
  auto alg = cbor_to_int(cbor_map_find(map, label_alg));
  if (!kty)
    return {E::invalid_credential_public_key, "COSE key without kty"};
  // WebAuthn §5.8.5 requires alg in credential public keys.
  if (!alg || *alg < -65536 || *alg > 65535)
    return {E::invalid_credential_public_key, "COSE key without alg"};
  key.kty = static_cast<int>(*kty);
  key.alg = static_cast<int>(*alg);
  if (!is_known_algorithm(key.alg))
    return {E::unsupported_algorithm,
            "COSE alg " + std::to_string(key.alg) + " is not supported"};
  switch (key.kty) {
  case cose_kty::ec2: {
    auto crv = cbor_to_int(cbor_map_find(map, label_crv));
    auto x = cbor_to_bytes(cbor_map_find(map, label_x));
    auto y = cbor_to_bytes(cbor_map_find(map, label_y));
    if (!crv || !x || !y)
      return {E::invalid_credential_public_key, "EC2 key lacks crv/x/y"};
    auto info = ec_curve(static_cast<int>(*crv));
    if (!info)
      return {E::unsupported_algorithm, "unsupported EC2 curve"};
    // WebAuthn ties each ECDSA algorithm to one curve (§5.8.5, RFC 9053).
    if (info->alg != key.alg)
      return {E::invalid_credential_public_key, "EC2 curve does not fit alg"};
    if (x->size() != info->coordinate_size
        || y->size() != info->coordinate_size)
      return {E::invalid_credential_public_key, "EC2 coordinate size"};
    key.crv = static_cast<int>(*crv);
    key.x = std::move(*x);
    key.y = std::move(*y);
    bytes point{0x04};
    point.insert(point.end(), key.x.begin(), key.x.end());
    point.insert(point.end(), key.y.begin(), key.y.end());
    key.pkey = from_params("EC", [&](OSSL_PARAM_BLD* bld) {
      return OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                             info->group, 0)
                 == 1
             && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                                 point.data(), point.size())
                    == 1;
    });
    break;
  }
  case cose_kty::okp: {
    auto crv = cbor_to_int(cbor_map_find(map, label_crv));
    auto x = cbor_to_bytes(cbor_map_find(map, label_x));
    if (!crv || !x)
      return {E::invalid_credential_public_key, "OKP key lacks crv/x"};
    if (*crv != crv_ed25519 || key.alg != cose_alg::eddsa)
      return {E::unsupported_algorithm, "only Ed25519 OKP keys"};
    if (x->size() != 32)
      return {E::invalid_credential_public_key, "Ed25519 key size"};
    key.crv = crv_ed25519;
    key.x = std::move(*x);
    EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                                key.x.data(), key.x.size());
    if (raw != nullptr)
      key.pkey = {raw, EVP_PKEY_free};
    break;
  }
  case cose_kty::rsa: {
    auto n = cbor_to_bytes(cbor_map_find(map, label_rsa_n));
    auto e = cbor_to_bytes(cbor_map_find(map, label_rsa_e));
    if (!n || !e || n->empty() || e->empty() || e->size() > 8)
      return {E::invalid_credential_public_key, "RSA key lacks n/e"};
    if (!is_rsa_algorithm(key.alg))
      return {E::invalid_credential_public_key, "RSA key with non-RSA alg"};
    key.n = std::move(*n);
    key.e = std::move(*e);
    ossl::bn_ptr bn_n{
        BN_bin2bn(key.n.data(), static_cast<int>(key.n.size()), nullptr)};
    ossl::bn_ptr bn_e{
        BN_bin2bn(key.e.data(), static_cast<int>(key.e.size()), nullptr)};
    if (!bn_n || !bn_e)
      return {E::invalid_credential_public_key, "RSA numbers"};
    // Below 1024 bits no authenticator is plausible and signatures are weak.
    if (BN_num_bits(bn_n.get()) < 1024 || !BN_is_odd(bn_e.get())
        || BN_is_one(bn_e.get()))
      return {E::invalid_credential_public_key, "weak RSA key"};
    key.pkey = from_params("RSA", [&](OSSL_PARAM_BLD* bld) {
      return OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get()) == 1
             && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get())
                    == 1;
    });
    break;
  }
  default:
    // Includes AKP (7, ML-DSA), which OpenSSL 3.0 cannot verify.
    return {E::unsupported_algorithm,
            "COSE kty " + std::to_string(key.kty) + " is not supported"};
  }
  if (!key.pkey || !public_check(key.pkey.get()))
    return {E::invalid_credential_public_key, "OpenSSL rejected the key"};
  return key;
}

} // namespace

result<cose_key> parse_cose_key(const std::uint8_t* data, std::size_t size,
                                std::size_t& consumed) {
  auto item = cbor_decode(data, size, consumed);
  if (!item)
    return {errc::invalid_credential_public_key, "COSE key is not CBOR"};
  return decode(item.get(), bytes(data, data + consumed));
}

result<cose_key> parse_cose_key(const bytes& encoded) {
  std::size_t consumed = 0;
  auto key = parse_cose_key(encoded.data(), encoded.size(), consumed);
  if (key && consumed != encoded.size())
    return {errc::invalid_credential_public_key, "bytes after the COSE key"};
  return key;
}

bool is_known_algorithm(int alg) {
  return alg == cose_alg::es256 || alg == cose_alg::es384
         || alg == cose_alg::es512 || alg == cose_alg::eddsa
         || is_rsa_algorithm(alg);
}

const std::vector<int>& default_credential_algorithms() {
  static const std::vector<int> algs{
      cose_alg::eddsa, cose_alg::es256, cose_alg::es384, cose_alg::es512,
      cose_alg::ps256, cose_alg::ps384, cose_alg::ps512, cose_alg::rs256,
      cose_alg::rs384, cose_alg::rs512};
  return algs;
}

bool verify_signature(int alg, EVP_PKEY* key, const bytes& message,
                      const bytes& signature) {
  if (key == nullptr || signature.empty())
    return false;
  const EVP_MD* md = md_for(alg);
  bool pss = alg == cose_alg::ps256 || alg == cose_alg::ps384
             || alg == cose_alg::ps512;
  if (alg == cose_alg::eddsa) {
    if (!EVP_PKEY_is_a(key, "ED25519"))
      return false;
  } else if (alg == cose_alg::es256 || alg == cose_alg::es384
             || alg == cose_alg::es512) {
    if (!EVP_PKEY_is_a(key, "EC"))
      return false;
  } else if (is_rsa_algorithm(alg)) {
    if (!EVP_PKEY_is_a(key, "RSA") && !(pss && EVP_PKEY_is_a(key, "RSA-PSS")))
      return false;
  } else {
    return false;
  }
  ossl::md_ctx_ptr ctx{EVP_MD_CTX_new()};
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1)
    return false;
  if (pss
      && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
          || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
                 != 1))
    return false;
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                          message.data(), message.size())
         == 1;
}

std::optional<bytes> digest_for_algorithm(int alg, const bytes& data) {
  const EVP_MD* md = md_for(alg);
  if (md == nullptr)
    return std::nullopt;
  bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1)
    return std::nullopt;
  out.resize(len);
  return out;
}

} // namespace authsvc::auth::webauthn
