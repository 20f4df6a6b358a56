#pragma once
// A software authenticator for WebAuthn unit tests: real keys made with
// OpenSSL, real COSE/CBOR made with libcbor, real signatures.
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <cbor.h>
#include <nlohmann/json.hpp>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "auth/crypto.hpp"
#include "auth/encoding.hpp"

namespace authsvc::auth::webauthn::testing {

/// Serializes a libcbor item and releases it.
inline bytes serialize(cbor_item_t* item) {
  unsigned char* buf = nullptr;
  std::size_t cap = 0;
  std::size_t len = cbor_serialize_alloc(item, &buf, &cap);
  bytes out(buf, buf + len);
  free(buf);
  cbor_decref(&item);
  return out;
}

inline void put(cbor_item_t* map, cbor_item_t* key, cbor_item_t* value) {
  cbor_map_add(map, cbor_pair{cbor_move(key), cbor_move(value)});
}

inline cbor_item_t* int_item(std::int64_t v) {
  if (v >= 0)
    return cbor_build_uint64(static_cast<std::uint64_t>(v));
  return cbor_build_negint64(static_cast<std::uint64_t>(-1 - v));
}

inline cbor_item_t* bytes_item(const bytes& b) {
  return cbor_build_bytestring(b.data(), b.size());
}

inline bytes big_endian(EVP_PKEY* key, const char* param, std::size_t size) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, param, &bn);
  bytes out(size == 0 ? static_cast<std::size_t>(BN_num_bytes(bn)) : size);
  BN_bn2binpad(bn, out.data(), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

/// A platform-authenticator stand-in with one credential.
class soft_authenticator {
public:
  /// @param alg -7 (ES256), -8 (EdDSA), -257 (RS256) or -37 (PS256).
  explicit soft_authenticator(int alg = -7) : alg_(alg) {
    if (alg == -7)
      key_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    else if (alg == -8)
      key_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    else
      key_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
    credential_id = random_bytes(32);
    aaguid = bytes(16, 0x42);
  }

  int alg() const { return alg_; }

  EVP_PKEY* key() const { return key_.get(); }

  /// The credential public key as COSE_Key bytes.
  bytes cose_key() const {
    cbor_item_t* map = cbor_new_definite_map(5);
    if (alg_ == -7) {
      put(map, int_item(1), int_item(2));
      put(map, int_item(3), int_item(-7));
      put(map, int_item(-1), int_item(1));
      put(map, int_item(-2),
          bytes_item(big_endian(key(), OSSL_PKEY_PARAM_EC_PUB_X, 32)));
      put(map, int_item(-3),
          bytes_item(big_endian(key(), OSSL_PKEY_PARAM_EC_PUB_Y, 32)));
    } else if (alg_ == -8) {
      bytes x(32);
      std::size_t len = x.size();
      EVP_PKEY_get_raw_public_key(key(), x.data(), &len);
      put(map, int_item(1), int_item(1));
      put(map, int_item(3), int_item(-8));
      put(map, int_item(-1), int_item(6));
      put(map, int_item(-2), bytes_item(x));
    } else {
      put(map, int_item(1), int_item(3));
      put(map, int_item(3), int_item(alg_));
      put(map, int_item(-1),
          bytes_item(big_endian(key(), OSSL_PKEY_PARAM_RSA_N, 0)));
      put(map, int_item(-2),
          bytes_item(big_endian(key(), OSSL_PKEY_PARAM_RSA_E, 0)));
    }
    return serialize(map);
  }

  /// Authenticator data for `rp_id`.
  /// @param flags raw flag byte; AT (0x40) adds attested credential data.
  bytes auth_data(const std::string& rp_id, std::uint8_t flags,
                  std::uint32_t counter, const bytes& extensions = {}) const {
    bytes out = sha256(rp_id);
    out.push_back(flags);
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(counter >> shift));
    if ((flags & 0x40) != 0) {
      out.insert(out.end(), aaguid.begin(), aaguid.end());
      out.push_back(static_cast<std::uint8_t>(credential_id.size() >> 8));
      out.push_back(static_cast<std::uint8_t>(credential_id.size()));
      out.insert(out.end(), credential_id.begin(), credential_id.end());
      auto key = cose_key();
      out.insert(out.end(), key.begin(), key.end());
    }
    out.insert(out.end(), extensions.begin(), extensions.end());
    return out;
  }

  /// Signs with the credential key as the COSE algorithm prescribes.
  bytes sign(const bytes& message) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{
        EVP_MD_CTX_new(), EVP_MD_CTX_free};
    EVP_PKEY_CTX* pctx = nullptr;
    const EVP_MD* md = alg_ == -8 ? nullptr : EVP_sha256();
    EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key());
    if (alg_ == -37) {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    std::size_t len = 0;
    EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size());
    bytes sig(len);
    EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size());
    sig.resize(len);
    return sig;
  }

  /// An attestationObject of format "none" or "packed" (self attestation).
  bytes attestation_object(const std::string& fmt, const bytes& auth_data,
                           const bytes& client_data_json) const {
    cbor_item_t* stmt = cbor_new_definite_map(2);
    if (fmt == "packed") {
      bytes signed_data = auth_data;
      auto hash = sha256(client_data_json);
      signed_data.insert(signed_data.end(), hash.begin(), hash.end());
      put(stmt, cbor_build_string("alg"), int_item(alg_));
      put(stmt, cbor_build_string("sig"), bytes_item(sign(signed_data)));
    }
    cbor_item_t* map = cbor_new_definite_map(3);
    put(map, cbor_build_string("fmt"), cbor_build_string(fmt.c_str()));
    put(map, cbor_build_string("attStmt"), stmt);
    put(map, cbor_build_string("authData"), bytes_item(auth_data));
    return serialize(map);
  }

  bytes credential_id;
  bytes aaguid;

private:
  struct pkey_free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  int alg_;
  std::unique_ptr<EVP_PKEY, pkey_free> key_;
};

/// clientDataJSON text for a ceremony.
inline bytes make_client_data(const std::string& type, const bytes& challenge,
                              const std::string& origin,
                              nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json j{{"type", type},
                   {"challenge", base64url_encode(challenge)},
                   {"origin", origin},
                   {"crossOrigin", false}};
  j.update(extra);
  return to_bytes(j.dump());
}

/// Loads a vectors file from the shared directory.
inline nlohmann::json load_vectors(const std::string& file) {
  std::ifstream in{std::string{AUTHSVC_SHARED_DIR} + "/webauthn-vectors/"
                   + file};
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

/// One case of a vectors file by name (null when missing).
inline nlohmann::json vector_case(const std::string& file,
                                  const std::string& name) {
  auto doc = load_vectors(file);
  for (const auto& c : doc["cases"])
    if (c["name"] == name)
      return c;
  return nullptr;
}

/// Decodes base64url that the test knows to be valid.
inline bytes b64(const std::string& text) {
  auto out = base64url_decode(text);
  return out ? *out : bytes{};
}

} // namespace authsvc::auth::webauthn::testing
