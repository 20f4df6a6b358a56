#pragma once
// RAII owners for the OpenSSL objects the WebAuthn verifier creates.
// Internal to auth/webauthn: callers never see OpenSSL types.
#include <memory>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace authsvc::auth::webauthn::ossl {

/// Generates a deleter type that calls the given OpenSSL free function.
template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* ptr) const noexcept { Free(ptr); }
};

/// An owned EVP_PKEY.
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;

/// An owned X509 certificate.
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;

/// An owned message digest context.
using md_ctx_ptr
    = std::unique_ptr<EVP_MD_CTX, deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;

/// An owned key context.
using pkey_ctx_ptr
    = std::unique_ptr<EVP_PKEY_CTX, deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;

/// An owned big number.
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BIGNUM, BN_free>>;

/// An owned certificate store.
using store_ptr
    = std::unique_ptr<X509_STORE, deleter<X509_STORE, X509_STORE_free>>;

/// An owned verification context.
using store_ctx_ptr
    = std::unique_ptr<X509_STORE_CTX,
                      deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

} // namespace authsvc::auth::webauthn::ossl
