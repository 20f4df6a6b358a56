// The TOML configuration file (core/config): any text as the config file,
// loaded with the real loader. A bad file must end in config_error naming
// the key (the process prints it and exits 2), never in a crash or another
// exception. The text goes through a memfd so no file is written.
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "core/config.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using authsvc::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static const int fd = memfd_create("fuzz-config.toml", 0);
  check(fd >= 0, "memfd_create");
  check(ftruncate(fd, 0) == 0, "ftruncate");
  check(pwrite(fd, data, size, 0) == static_cast<ssize_t>(size), "pwrite");
  authsvc::config::sources src;
  src.config_path = "/proc/self/fd/" + std::to_string(fd);
  try {
    auto s = authsvc::config::load(src);
    (void)authsvc::config::to_redacted_toml(s);
  } catch (const authsvc::config::config_error&) {
    // the documented refusal
  }
  return 0;
}
