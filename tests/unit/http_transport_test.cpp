// The Beast transport over a real loopback socket, with a dispatcher that
// answers directly (no actors): what goes on the wire.
#include <catch2/catch.hpp>

#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "http/server.hpp"

namespace {

namespace asio = boost::asio;
using authsvc::http::request;
using authsvc::http::responder_ptr;
using authsvc::http::response;

/// Sends `raw` on a fresh connection and reads until the server closes it.
std::string exchange(std::uint16_t port, const std::string& raw) {
  asio::io_context io;
  asio::ip::tcp::socket sock{io};
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(sock, asio::buffer(raw));
  std::string out;
  boost::system::error_code ec;
  asio::read(sock, asio::dynamic_buffer(out), ec); // until EOF
  return out;
}

} // namespace

TEST_CASE("a header field with CR or LF never reaches the wire",
          "[http][transport]") {
  authsvc::http::server_options opts;
  opts.host = "127.0.0.1";
  opts.port = 0;
  authsvc::http::server srv{opts, [](request&&, responder_ptr out) {
                              response r;
                              r.status = 200;
                              r.set_header("X-Good", "yes");
                              r.set_header("X-Evil",
                                           "a\r\nSet-Cookie: stolen=1");
                              r.set_header("X-Bad\r\nName", "v");
                              r.body = "ok";
                              out->reply(std::move(r));
                            }};
  auto port = srv.start();
  auto wire = exchange(
      port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  srv.drain(std::chrono::milliseconds(2000));
  INFO(wire);
  CHECK(wire.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(wire.find("X-Good: yes\r\n") != std::string::npos);
  CHECK(wire.find("Set-Cookie") == std::string::npos);
  CHECK(wire.find("X-Evil") == std::string::npos);
  CHECK(wire.find("X-Bad") == std::string::npos);
  CHECK(wire.find("Content-Length: 2\r\n") != std::string::npos);
  CHECK(wire.find("Connection: close\r\n") != std::string::npos);
  CHECK(wire.substr(wire.size() - 6) == "\r\n\r\nok");
}
