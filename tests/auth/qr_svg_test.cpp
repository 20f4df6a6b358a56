#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "auth/crypto.hpp"
#include "auth/qr_svg.hpp"
#include "auth/totp.hpp"
#include "tests/run_command.hpp"

using namespace authsvc::auth;

using authsvc::testing::run_command;

TEST_CASE("the QR SVG is self-contained", "[auth][qr]") {
  auto svg = qr_svg("hello");
  REQUIRE(svg);
  CHECK(svg->rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg->find("viewBox=\"0 0 ") != std::string::npos);
  CHECK(svg->find("<path") != std::string::npos);
  CHECK(svg->find("href") == std::string::npos);
  CHECK(svg->find("<script") == std::string::npos);
  CHECK(svg->find("hello") == std::string::npos);
  CHECK_FALSE(qr_svg(std::string("a\0b", 3)));
  CHECK_FALSE(qr_svg(std::string(8000, 'x'))); // beyond version 40
}

TEST_CASE("an independent decoder reads the otpauth URI back from the SVG",
          "[auth][qr][interop]") {
  auto uri = otpauth_uri("ACME Co", "alice+test@example.com",
                         "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
  auto svg = qr_svg(uri);
  REQUIRE(svg);
  char dir_template[] = "/tmp/authsvc-qr-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  std::string dir = dir_template;
  {
    std::ofstream f(dir + "/qr.svg");
    f << *svg;
  }
  auto rc = std::system(
      ("rsvg-convert -f png -o " + dir + "/qr.png " + dir + "/qr.svg").c_str());
  REQUIRE(rc == 0);
  auto decoded = run_command("zbarimg --raw -q " + dir + "/qr.png 2>/dev/null");
  CHECK(decoded == uri);
  std::remove((dir + "/qr.svg").c_str());
  std::remove((dir + "/qr.png").c_str());
  ::rmdir(dir.c_str());
}
