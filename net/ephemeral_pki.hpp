#pragma once
// A throw-away key and self-signed certificate for the service's internal
// CAF endpoint.
//
// The public CAF port is served by the gate (net/caf_gate), which forwards
// to CAF's own endpoint on loopback. That inner endpoint must not be a
// plaintext side door for other local processes, so CAF runs it in its
// mutual-TLS mode with this pair as certificate, key and CA at once: only a
// holder of the key (the gate, in this process) completes the handshake.
// CAF 0.17 reads TLS material from files only, so the pair is written to a
// fresh owner-only (0700) directory and removed when this object goes.
#include <string>

namespace authsvc::net {

class ephemeral_pki {
public:
  /// Generates a P-256 key and a self-signed certificate valid for a year.
  /// @throws std::runtime_error when OpenSSL or the file system fails.
  ephemeral_pki();
  ~ephemeral_pki();
  ephemeral_pki(const ephemeral_pki&) = delete;
  ephemeral_pki& operator=(const ephemeral_pki&) = delete;

  const std::string& cert_file() const noexcept { return cert_file_; }
  const std::string& key_file() const noexcept { return key_file_; }

private:
  std::string dir_;
  std::string cert_file_;
  std::string key_file_;
};

} // namespace authsvc::net
