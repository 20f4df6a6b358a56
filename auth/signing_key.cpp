#include "auth/signing_key.hpp"

#include <cstring>
#include <stdexcept>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "auth/crypto.hpp"

namespace authsvc::auth {

namespace {

struct bn_deleter {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using bn_ptr = std::unique_ptr<BIGNUM, bn_deleter>;

struct pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;

struct encoder_deleter {
  void operator()(OSSL_ENCODER_CTX* p) const { OSSL_ENCODER_CTX_free(p); }
};
struct decoder_deleter {
  void operator()(OSSL_DECODER_CTX* p) const { OSSL_DECODER_CTX_free(p); }
};
struct param_bld_deleter {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct param_deleter {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};

constexpr std::size_t p256_coordinate_size = 32;
constexpr std::size_t ed25519_key_size = 32;

bytes bn_to_bytes(const BIGNUM* bn, std::size_t pad_to = 0) {
  std::size_t n = pad_to ? pad_to : static_cast<std::size_t>(BN_num_bytes(bn));
  bytes out(n);
  if (pad_to) {
    if (BN_bn2binpad(bn, out.data(), static_cast<int>(n)) < 0)
      throw std::runtime_error("BN_bn2binpad failed");
  } else {
    BN_bn2bin(bn, out.data());
  }
  return out;
}

bytes bn_param(EVP_PKEY* key, const char* name, std::size_t pad_to = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1)
    throw std::runtime_error(std::string{"EVP_PKEY_get_bn_param failed: "}
                             + name);
  bn_ptr bn{raw};
  return bn_to_bytes(bn.get(), pad_to);
}

/// The JOSE algorithm implied by a key's type, or nullopt if unsupported.
std::optional<jws_alg> classify(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519"))
    return jws_alg::eddsa;
  if (EVP_PKEY_is_a(key, "RSA"))
    return EVP_PKEY_get_bits(key) >= 2048 ? std::optional{jws_alg::rs256}
                                          : std::nullopt;
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {0};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof(group), &len)
        != 1)
      return std::nullopt;
    std::string_view g{group, len};
    if (g == "prime256v1" || g == "P-256" || g == "secp256r1")
      return jws_alg::es256;
  }
  return std::nullopt;
}

/// The required members of the public JWK (those RFC 7638 hashes).
nlohmann::json required_members(EVP_PKEY* key, jws_alg alg) {
  nlohmann::json jwk = nlohmann::json::object();
  switch (alg) {
  case jws_alg::es256:
    jwk["kty"] = "EC";
    jwk["crv"] = "P-256";
    jwk["x"] = base64url_encode(
        bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, p256_coordinate_size));
    jwk["y"] = base64url_encode(
        bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, p256_coordinate_size));
    break;
  case jws_alg::rs256:
    // RFC 7518 §6.3.1: unsigned big-endian without leading zero octets.
    jwk["kty"] = "RSA";
    jwk["n"] = base64url_encode(bn_param(key, OSSL_PKEY_PARAM_RSA_N));
    jwk["e"] = base64url_encode(bn_param(key, OSSL_PKEY_PARAM_RSA_E));
    break;
  case jws_alg::eddsa: {
    bytes raw(ed25519_key_size);
    std::size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(key, raw.data(), &len) != 1)
      throw std::runtime_error("EVP_PKEY_get_raw_public_key failed");
    raw.resize(len);
    jwk["kty"] = "OKP";
    jwk["crv"] = "Ed25519";
    jwk["x"] = base64url_encode(raw);
    break;
  }
  }
  return jwk;
}

std::optional<std::string> string_member(const nlohmann::json& j,
                                         const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string())
    return std::nullopt;
  return it->get<std::string>();
}

std::optional<bytes> b64_member(const nlohmann::json& j, const char* name) {
  auto s = string_member(j, name);
  if (!s || s->find('=') != std::string::npos)
    return std::nullopt;
  return base64url_decode(*s);
}

bytes encode_private(EVP_PKEY* key, const char* output_type) {
  std::unique_ptr<OSSL_ENCODER_CTX, encoder_deleter> ctx{
      OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_KEYPAIR, output_type,
                                    "PrivateKeyInfo", nullptr)};
  unsigned char* data = nullptr;
  std::size_t len = 0;
  if (!ctx || OSSL_ENCODER_CTX_get_num_encoders(ctx.get()) == 0
      || OSSL_ENCODER_to_data(ctx.get(), &data, &len) != 1) {
    ERR_clear_error();
    throw std::runtime_error("PKCS#8 encoding failed");
  }
  bytes out(data, data + len);
  OPENSSL_clear_free(data, len);
  return out;
}

EVP_PKEY* decode_private(const unsigned char* data, std::size_t len,
                         const char* input_type) {
  EVP_PKEY* key = nullptr;
  std::unique_ptr<OSSL_DECODER_CTX, decoder_deleter> ctx{
      OSSL_DECODER_CTX_new_for_pkey(&key, input_type, "PrivateKeyInfo", nullptr,
                                    EVP_PKEY_KEYPAIR, nullptr, nullptr)};
  const unsigned char* p = data;
  std::size_t left = len;
  bool ok = ctx && OSSL_DECODER_CTX_get_num_decoders(ctx.get()) > 0
            && OSSL_DECODER_from_data(ctx.get(), &p, &left) == 1;
  ERR_clear_error();
  // Trailing DER bytes would let two different blobs load as one key.
  if (!ok || (std::strcmp(input_type, "DER") == 0 && left != 0)) {
    EVP_PKEY_free(key);
    return nullptr;
  }
  return key;
}

} // namespace

// -- free functions -----------------------------------------------------------

std::string_view to_string(jws_alg alg) {
  switch (alg) {
  case jws_alg::es256:
    return "ES256";
  case jws_alg::rs256:
    return "RS256";
  case jws_alg::eddsa:
    return "EdDSA";
  }
  return "unknown";
}

std::optional<jws_alg> parse_jws_alg(std::string_view name) {
  if (name == "ES256")
    return jws_alg::es256;
  if (name == "RS256")
    return jws_alg::rs256;
  if (name == "EdDSA")
    return jws_alg::eddsa;
  return std::nullopt;
}

std::optional<std::string> jwk_thumbprint(const nlohmann::json& jwk) {
  if (!jwk.is_object())
    return std::nullopt;
  auto kty = string_member(jwk, "kty");
  if (!kty)
    return std::nullopt;
  std::vector<const char*> names;
  if (*kty == "EC")
    names = {"crv", "kty", "x", "y"};
  else if (*kty == "RSA")
    names = {"e", "kty", "n"};
  else if (*kty == "OKP")
    names = {"crv", "kty", "x"};
  else
    return std::nullopt;
  // nlohmann's object is a std::map, so dump() writes members in
  // lexicographic order with no whitespace: exactly RFC 7638 §3.
  nlohmann::json req = nlohmann::json::object();
  for (auto* name : names) {
    auto v = string_member(jwk, name);
    if (!v)
      return std::nullopt;
    req[name] = *v;
  }
  return base64url_encode(sha256(req.dump()));
}

nlohmann::json make_jwks(const std::vector<const signing_key*>& keys) {
  nlohmann::json out = {{"keys", nlohmann::json::array()}};
  for (const auto* k : keys)
    out["keys"].push_back(k->public_jwk());
  return out;
}

// -- signing_key --------------------------------------------------------------

void signing_key::pkey_deleter::operator()(evp_pkey_st* p) const noexcept {
  EVP_PKEY_free(p);
}

signing_key::signing_key(pkey_ptr key, jws_alg alg, bool has_private,
                         std::string kid)
    : key_(std::move(key)), alg_(alg), has_private_(has_private),
      kid_(std::move(kid)) {
  // nop
}

signing_key::signing_key(signing_key&&) noexcept = default;
signing_key& signing_key::operator=(signing_key&&) noexcept = default;
signing_key::~signing_key() = default;

std::optional<signing_key> signing_key::adopt(pkey_ptr key, bool has_private,
                                              std::string kid) {
  if (!key)
    return std::nullopt;
  auto alg = classify(key.get());
  if (!alg)
    return std::nullopt;
  if (kid.empty())
    kid = *jwk_thumbprint(required_members(key.get(), *alg));
  return signing_key{std::move(key), *alg, has_private, std::move(kid)};
}

signing_key signing_key::generate(jws_alg alg, int rsa_bits) {
  EVP_PKEY* raw = nullptr;
  switch (alg) {
  case jws_alg::es256:
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    break;
  case jws_alg::rs256:
    if (rsa_bits != 2048 && rsa_bits != 3072 && rsa_bits != 4096)
      throw std::invalid_argument("RSA keys must be 2048, 3072 or 4096 bits");
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA",
                            static_cast<std::size_t>(rsa_bits));
    break;
  case jws_alg::eddsa:
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    break;
  }
  auto key = adopt(pkey_ptr{raw}, true);
  if (!key) {
    ERR_clear_error();
    throw std::runtime_error("signing key generation failed");
  }
  return std::move(*key);
}

std::optional<signing_key> signing_key::from_pkcs8_der(const bytes& der) {
  if (der.empty())
    return std::nullopt;
  return adopt(pkey_ptr{decode_private(der.data(), der.size(), "DER")}, true);
}

std::optional<signing_key> signing_key::from_pkcs8_pem(std::string_view pem) {
  if (pem.empty())
    return std::nullopt;
  return adopt(pkey_ptr{decode_private(
                   reinterpret_cast<const unsigned char*>(pem.data()),
                   pem.size(), "PEM")},
               true);
}

std::optional<signing_key>
signing_key::from_public_jwk(const nlohmann::json& jwk) {
  if (!jwk.is_object())
    return std::nullopt;
  auto kty = string_member(jwk, "kty");
  if (!kty)
    return std::nullopt;
  pkey_ptr key;
  if (*kty == "OKP") {
    auto x = b64_member(jwk, "x");
    if (string_member(jwk, "crv") != "Ed25519" || !x
        || x->size() != ed25519_key_size)
      return std::nullopt;
    key.reset(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr,
                                             x->data(), x->size()));
  } else if (*kty == "EC" || *kty == "RSA") {
    std::unique_ptr<OSSL_PARAM_BLD, param_bld_deleter> bld{
        OSSL_PARAM_BLD_new()};
    bn_ptr n, e;
    bytes point;
    char group[] = "prime256v1";
    if (!bld)
      return std::nullopt;
    if (*kty == "EC") {
      auto x = b64_member(jwk, "x");
      auto y = b64_member(jwk, "y");
      if (string_member(jwk, "crv") != "P-256" || !x || !y
          || x->size() != p256_coordinate_size
          || y->size() != p256_coordinate_size)
        return std::nullopt;
      // SEC 1 uncompressed point: 0x04 || X || Y.
      point.push_back(0x04);
      point.insert(point.end(), x->begin(), x->end());
      point.insert(point.end(), y->begin(), y->end());
      if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                          group, 0)
              != 1
          || OSSL_PARAM_BLD_push_octet_string(
                 bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())
                 != 1)
        return std::nullopt;
    } else {
      auto nb = b64_member(jwk, "n");
      auto eb = b64_member(jwk, "e");
      if (!nb || !eb || nb->empty() || eb->empty())
        return std::nullopt;
      n.reset(BN_bin2bn(nb->data(), static_cast<int>(nb->size()), nullptr));
      e.reset(BN_bin2bn(eb->data(), static_cast<int>(eb->size()), nullptr));
      if (!n || !e
          || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get())
                 != 1
          || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get())
                 != 1)
        return std::nullopt;
    }
    std::unique_ptr<OSSL_PARAM, param_deleter> params{
        OSSL_PARAM_BLD_to_param(bld.get())};
    pkey_ctx_ptr ctx{
        EVP_PKEY_CTX_new_from_name(nullptr, kty->c_str(), nullptr)};
    EVP_PKEY* raw = nullptr;
    if (params && ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1
        && EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get())
               == 1)
      key.reset(raw);
    else
      EVP_PKEY_free(raw);
  }
  if (!key) {
    ERR_clear_error();
    return std::nullopt;
  }
  // Reject points off the curve and degenerate RSA moduli up front.
  pkey_ctx_ptr check{EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr)};
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::string kid;
  if (auto k = string_member(jwk, "kid"))
    kid = *k;
  auto result = adopt(std::move(key), false, std::move(kid));
  if (result && jwk.contains("alg")
      && string_member(jwk, "alg") != std::string{to_string(result->alg())})
    return std::nullopt;
  return result;
}

bytes signing_key::to_pkcs8_der() const {
  if (!has_private_)
    throw std::logic_error("signing_key: no private key to serialize");
  return encode_private(key_.get(), "DER");
}

std::string signing_key::to_pkcs8_pem() const {
  if (!has_private_)
    throw std::logic_error("signing_key: no private key to serialize");
  auto pem = encode_private(key_.get(), "PEM");
  std::string out(pem.begin(), pem.end());
  OPENSSL_cleanse(pem.data(), pem.size());
  return out;
}

nlohmann::json signing_key::public_jwk() const {
  auto jwk = required_members(key_.get(), alg_);
  jwk["kid"] = kid_;
  jwk["alg"] = std::string{to_string(alg_)};
  jwk["use"] = "sig";
  return jwk;
}

} // namespace authsvc::auth
