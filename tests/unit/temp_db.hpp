#pragma once
// A scratch folder for a test database, removed with everything in it.
#include <cstdint>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace authsvc::testing {

struct temp_db {
  std::filesystem::path dir;
  temp_db() {
    dir = std::filesystem::temp_directory_path()
          / ("pa-db-" + std::to_string(::getpid()) + "-"
             + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(dir);
  }
  ~temp_db() { std::filesystem::remove_all(dir); }
  temp_db(const temp_db&) = delete;
  temp_db& operator=(const temp_db&) = delete;
  /// The database file, in a folder the executor has to create.
  std::string path() const { return (dir / "sub" / "auth.db").string(); }
};

} // namespace authsvc::testing
