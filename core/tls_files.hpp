#pragma once
// Start-up check of a TLS certificate, key and CA before a library that
// would only notice them at the first connection (CAF's openssl module
// throws on the multiplexer thread then, which terminates the process).
#include <optional>
#include <string>

namespace authsvc {

/// Which file is bad and why.
struct tls_file_problem {
  std::string which; ///< "cert", "key" or "ca"
  std::string message;
};

/// Loads `cert` (a PEM chain), `key` (PEM) and `ca` (PEM bundle) into a
/// scratch OpenSSL context and checks that the key matches the
/// certificate. `ca` may be empty.
/// @returns the first problem, or nullopt when all load.
std::optional<tls_file_problem> check_tls_files(const std::string& cert,
                                                const std::string& key,
                                                const std::string& ca);

} // namespace authsvc
