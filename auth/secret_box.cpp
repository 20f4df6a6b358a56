#include "auth/secret_box.hpp"

#include <memory>
#include <stdexcept>
#include <string>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "auth/crypto.hpp"

namespace authsvc::auth::secret_box {

namespace {

struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

// Salt for HKDF-Extract: fixed and public, it only separates our derivations
// from any other use of the same master key.
constexpr std::string_view hkdf_salt = "passwordless-auth/secret-box/v1";

// The AAD fed to GCM: the version byte followed by the caller's context.
std::string full_aad(std::string_view aad) {
  std::string out(1, static_cast<char>(version));
  out.append(aad);
  return out;
}

} // namespace

bytes seal(const bytes& key, const bytes& plaintext, std::string_view aad) {
  if (key.size() != key_size)
    throw std::invalid_argument("secret_box::seal: key must be 32 bytes");
  auto nonce = random_bytes(nonce_size);
  bytes out(overhead + plaintext.size());
  out[0] = version;
  std::copy(nonce.begin(), nonce.end(), out.begin() + 1);
  auto* ct = out.data() + 1 + nonce_size;
  cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  auto aad_bytes = full_aad(aad);
  int len = 0;
  bool ok = ctx
            && EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.data(),
                                   nonce.data(), nullptr)
                   == 1
            && EVP_EncryptUpdate(
                   ctx.get(), nullptr, &len,
                   reinterpret_cast<const unsigned char*>(aad_bytes.data()),
                   static_cast<int>(aad_bytes.size()))
                   == 1
            && (plaintext.empty()
                || EVP_EncryptUpdate(ctx.get(), ct, &len, plaintext.data(),
                                     static_cast<int>(plaintext.size()))
                       == 1)
            && EVP_EncryptFinal_ex(ctx.get(), ct + plaintext.size(), &len) == 1
            && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG,
                                   static_cast<int>(tag_size),
                                   ct + plaintext.size())
                   == 1;
  if (!ok)
    throw std::runtime_error("secret_box::seal: AES-256-GCM failed");
  return out;
}

std::optional<bytes> open(const bytes& key, const bytes& sealed,
                          std::string_view aad) {
  if (key.size() != key_size || sealed.size() < overhead
      || sealed[0] != version)
    return std::nullopt;
  const auto* nonce = sealed.data() + 1;
  const auto* ct = nonce + nonce_size;
  const auto ct_size = sealed.size() - overhead;
  const auto* tag = ct + ct_size;
  bytes plain(ct_size);
  cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  auto aad_bytes = full_aad(aad);
  // The tag must be set before Final, and Final is what checks it.
  bytes tag_copy(tag, tag + tag_size);
  int len = 0;
  bool ok
      = ctx
        && EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.data(), nonce,
                               nullptr)
               == 1
        && EVP_DecryptUpdate(
               ctx.get(), nullptr, &len,
               reinterpret_cast<const unsigned char*>(aad_bytes.data()),
               static_cast<int>(aad_bytes.size()))
               == 1
        && (ct_size == 0
            || EVP_DecryptUpdate(ctx.get(), plain.data(), &len, ct,
                                 static_cast<int>(ct_size))
                   == 1)
        && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG,
                               static_cast<int>(tag_size), tag_copy.data())
               == 1
        && EVP_DecryptFinal_ex(ctx.get(), plain.data() + ct_size, &len) == 1;
  if (!ok) {
    // Don't hand back unauthenticated plaintext, not even in freed memory.
    OPENSSL_cleanse(plain.data(), plain.size());
    return std::nullopt;
  }
  return plain;
}

bytes derive_key(std::string_view master_key, std::string_view purpose) {
  if (master_key.empty())
    throw std::invalid_argument("secret_box::derive_key: empty master key");
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* kctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  std::string info = "passwordless-auth/";
  info.append(purpose);
  std::string salt{hkdf_salt};
  std::string secret{master_key};
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, secret.data(),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(),
                                        salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(),
                                        info.size()),
      OSSL_PARAM_construct_end(),
  };
  bytes out(key_size);
  bool ok = kctx && EVP_KDF_derive(kctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(kctx);
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!ok)
    throw std::runtime_error("secret_box::derive_key: HKDF failed");
  return out;
}

} // namespace authsvc::auth::secret_box
