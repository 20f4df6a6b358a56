#pragma once
// Files compiled into the binary by cmake/embed.cmake.
#include <string>
#include <vector>

namespace authsvc::embedded {

/// One embedded file: its path relative to the embedded folder, and its bytes.
struct file {
  std::string path;
  std::string contents;
};

/// The numbered SQL files of migrations/, sorted by name.
const std::vector<file>& migrations_blob();

/// Everything under templates/, sorted by path.
const std::vector<file>& templates_blob();

/// Everything under static/ (the sign-in page's CSS and JavaScript).
const std::vector<file>& static_blob();

/// openapi.json, converted from openapi.yaml at build time.
const std::vector<file>& openapi_blob();

} // namespace authsvc::embedded
