#include "core/key_ring.hpp"

#include <filesystem>
#include <fstream>

#include <sys/stat.h>

#include "auth/crypto.hpp"
#include "auth/secret_box.hpp"

namespace authsvc {

key_ring key_ring::derive(const std::string& master) {
  using auth::secret_box::derive_key;
  key_ring k;
  k.signing_keys = derive_key(master, "passwordless-auth/signing-keys/v1");
  k.payloads = derive_key(master, "passwordless-auth/payloads/v1");
  k.totp = derive_key(master, "passwordless-auth/totp/v1");
  k.webhooks = derive_key(master, "passwordless-auth/webhooks/v1");
  k.code_hmac
      = auth::to_string(derive_key(master, "passwordless-auth/codes/v1"));
  k.recovery_pepper
      = auth::to_string(derive_key(master, "passwordless-auth/recovery/v1"));
  k.admin_pepper
      = auth::to_string(derive_key(master, "passwordless-auth/admin/v1"));
  k.webauthn_decoys = auth::to_string(
      derive_key(master, "passwordless-auth/webauthn-decoys/v1"));
  k.oauth_clients = auth::to_string(
      derive_key(master, "passwordless-auth/oauth-clients/v1"));
  return k;
}

std::string load_or_create_master_secret(const config::settings& cfg,
                                         bool* generated) {
  if (generated)
    *generated = false;
  if (!cfg.auth.secret_key.empty())
    return cfg.auth.secret_key;
  auto dir = std::filesystem::path(cfg.database.path).parent_path();
  if (dir.empty())
    dir = ".";
  if (!std::filesystem::exists(dir)) {
    std::filesystem::create_directories(dir);
    // A folder we made holds only our secrets: owner-only.
    ::chmod(dir.c_str(), 0700);
  }
  auto path = dir / "secret.key";
  if (std::ifstream in{path}; in) {
    std::string s;
    std::getline(in, s);
    if (s.size() >= 32) {
      // A key file left readable (by an older version, a copy, a umask) is
      // tightened: anyone who reads it opens every sealed secret.
      ::chmod(path.c_str(), 0600);
      return s;
    }
  }
  auto secret = auth::random_token(48);
  {
    auto old = umask(077);
    std::ofstream out(path, std::ios::trunc);
    umask(old);
    if (!out || !(out << secret << "\n"))
      throw std::runtime_error("cannot write " + path.string());
  }
  ::chmod(path.c_str(), 0600);
  if (generated)
    *generated = true;
  return secret;
}

} // namespace authsvc
