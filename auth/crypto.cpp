#include "auth/crypto.hpp"

#include <cstdlib>
#include <cstdio>

#include <memory>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace authsvc::auth {

namespace {

bytes digest(const EVP_MD* md, const void* data, std::size_t size) {
  bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (EVP_Digest(data, size, out.data(), &len, md, nullptr) != 1) {
    std::fputs("fatal: EVP_Digest failed\n", stderr);
    std::abort();
  }
  out.resize(len);
  return out;
}

bytes mac(const EVP_MD* md, const void* key, std::size_t key_size,
          const void* data, std::size_t size) {
  bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  // HMAC() with a null key pointer would use a static buffer; pass a dummy.
  static const unsigned char empty = 0;
  if (HMAC(md, key_size ? key : &empty, static_cast<int>(key_size),
           static_cast<const unsigned char*>(data), size, out.data(), &len)
      == nullptr) {
    std::fputs("fatal: HMAC failed\n", stderr);
    std::abort();
  }
  out.resize(len);
  return out;
}

} // namespace

bytes sha256(std::string_view data) {
  return digest(EVP_sha256(), data.data(), data.size());
}

bytes sha256(const bytes& data) {
  return digest(EVP_sha256(), data.data(), data.size());
}

bytes hmac_sha256(std::string_view key, std::string_view data) {
  return mac(EVP_sha256(), key.data(), key.size(), data.data(), data.size());
}

bytes hmac_sha1(const bytes& key, const bytes& data) {
  return mac(EVP_sha1(), key.data(), key.size(), data.data(), data.size());
}

bytes random_bytes(std::size_t n) {
  bytes out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
    std::fputs("fatal: RAND_bytes failed\n", stderr);
    std::abort();
  }
  return out;
}

std::string random_token(std::size_t n) {
  return base64url_encode(random_bytes(n));
}

std::uint64_t random_below(std::uint64_t bound) {
  if (bound <= 1)
    return 0;
  // Rejection sampling: draw until the value falls in a whole number of
  // copies of [0, bound).
  const std::uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  for (;;) {
    auto b = random_bytes(8);
    std::uint64_t v = 0;
    for (auto x : b)
      v = (v << 8) | x;
    if (v < limit)
      return v % bound;
  }
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool constant_time_equal(const bytes& a, const bytes& b) {
  if (a.size() != b.size())
    return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<bytes> ecdsa_raw_to_der(const bytes& raw) {
  if (raw.empty() || raw.size() % 2 != 0 || raw.size() > 132)
    return std::nullopt;
  auto half = static_cast<int>(raw.size() / 2);
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig{ECDSA_SIG_new(),
                                                            ECDSA_SIG_free};
  BIGNUM* r = BN_bin2bn(raw.data(), half, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + half, half, nullptr);
  if (!sig || r == nullptr || s == nullptr
      || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0)
    return std::nullopt;
  bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_ECDSA_SIG(sig.get(), &p);
  return der;
}

std::string token_hash(std::string_view token) {
  return hex_encode(sha256(token));
}

} // namespace authsvc::auth
