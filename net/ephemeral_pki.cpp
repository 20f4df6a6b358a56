#include "net/ephemeral_pki.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace authsvc::net {

namespace {

struct key_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const { X509_free(p); }
};
struct file_close {
  void operator()(FILE* f) const { std::fclose(f); }
};

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string{"internal CAF certificate: "} + what);
}

void add_ext(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext)
    fail("extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

std::unique_ptr<FILE, file_close> create_private(const std::string& path) {
  // O_EXCL in a directory of our own: nobody can have planted the file.
  auto old = ::umask(077);
  FILE* f = std::fopen(path.c_str(), "wx");
  ::umask(old);
  if (!f)
    fail("cannot create file");
  return std::unique_ptr<FILE, file_close>{f};
}

} // namespace

ephemeral_pki::ephemeral_pki() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string{tmp && *tmp ? tmp : "/tmp"}
                     + "/passwordless-auth-caf-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) // mkdtemp creates the directory 0700
    fail("cannot create directory");
  dir_ = buf.data();
  cert_file_ = dir_ + "/cert.pem";
  key_file_ = dir_ + "/key.pem";

  std::unique_ptr<EVP_PKEY, key_free> key{EVP_EC_gen("P-256")};
  if (!key)
    fail("key generation");
  std::unique_ptr<X509, x509_free> cert{X509_new()};
  if (!cert)
    fail("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1)
    fail("random serial");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  auto* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("passwordless-auth internal CAF"),
      -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  // Its own trust anchor, and both ends of the inner connection.
  add_ext(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  add_ext(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    fail("sign");
  {
    auto f = create_private(key_file_);
    if (PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr,
                             nullptr)
        != 1)
      fail("write key");
  }
  {
    auto f = create_private(cert_file_);
    if (PEM_write_X509(f.get(), cert.get()) != 1)
      fail("write certificate");
  }
}

ephemeral_pki::~ephemeral_pki() {
  ::unlink(key_file_.c_str());
  ::unlink(cert_file_.c_str());
  ::rmdir(dir_.c_str());
}

} // namespace authsvc::net
