#pragma once
// Runs an independent verifier (openssl, oathtool, python3, ...) through the
// shell and returns what it printed, trailing newlines removed: tests check
// what we emit with other people's code, not with our own.
#include <array>
#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

namespace authsvc::testing {

inline std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr)
    out += buf.data();
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

} // namespace authsvc::testing
