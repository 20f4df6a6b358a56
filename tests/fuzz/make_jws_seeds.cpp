// Writes the seed tokens of the jws target: valid tokens of both fixed keys
// and a few that fail one check each (expired, wrong audience, alg none).
// Usage: fuzz_make_jws_seeds DIR (scripts/fuzz.sh seeds).
#include <fstream>
#include <iostream>
#include <string>

#include "auth/encoding.hpp"
#include "auth/jws.hpp"
#include "tests/fuzz/jws_keys.hpp"

using namespace authsvc::auth;
using nlohmann::json;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_jws_seeds DIR\n";
    return 2;
  }
  std::string dir = argv[1];
  int n = 0;
  auto write = [&](const std::string& token) {
    std::ofstream(dir + "/seed-" + std::to_string(n++)) << token;
  };
  const auto& keys = authsvc::fuzz::jws_keys();
  for (const auto& key : keys) {
    json header{{"alg", std::string(to_string(key.alg()))},
                {"typ", "JWT"},
                {"kid", key.kid()}};
    json claims{{"iss", "https://auth.example.com"},
                {"aud", "example-app"},
                {"sub", "user-1"},
                {"iat", 1699999000},
                {"nbf", 1699999000},
                {"exp", 1700000900},
                {"amr", {"email"}}};
    write(sign_jws(header, claims, key));
    auto expired = claims;
    expired["exp"] = 1600000000;
    write(sign_jws(header, expired, key));
    auto other = claims;
    other["aud"] = json::array({"other", "example-app"});
    write(sign_jws(header, other, key));
    write(key.public_jwk().dump());
  }
  write(base64url_encode(std::string(R"({"alg":"none"})")) + "."
        + base64url_encode(std::string(R"({"sub":"x"})")) + ".");
  return 0;
}
