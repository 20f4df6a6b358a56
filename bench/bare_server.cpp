// bare_server: the baseline the service is benchmarked against. A minimal
// Boost.Beast HTTP/1.1 server with the same transport shape as
// http/server.cpp (one strand per connection, keep-alive, a timeout on every
// read and write, TCP_NODELAY) but no actors, routing or middleware: every
// request gets 200 and {"status":"alive"}, the body of GET /liveness.
//
// Usage: bare_server [--host 127.0.0.1] [--port 0] [--threads 1]
// Prints {"event":"http-listening","port":N} once bound; stops on SIGINT or
// SIGTERM.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto io_timeout = std::chrono::seconds(30);
constexpr std::uint32_t header_limit = 8 * 1024;
constexpr std::uint64_t body_limit = 64 * 1024;
constexpr const char* alive_body = R"({"status":"alive"})";

void fail(beast::error_code ec, const char* what) {
  std::fprintf(stderr, "bare_server: %s: %s\n", what, ec.message().c_str());
}

/// One connection: read a request, answer it, repeat while keep-alive.
class session : public std::enable_shared_from_this<session> {
public:
  explicit session(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void run() {
    // Start on the connection's strand: the accept completion is not on it.
    asio::dispatch(
        stream_.get_executor(),
        beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

private:
  void do_read() {
    // A fresh parser per request, with the same limits as the service.
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(body_limit);
    stream_.expires_after(io_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream)
      return do_close();
    if (ec) {
      // Resets and timeouts are routine under a load generator.
      if (ec != asio::error::operation_aborted && ec != beast::error::timeout
          && ec != asio::error::connection_reset)
        fail(ec, "read");
      return do_close();
    }
    const auto& req = parser_->get();
    res_ = {};
    res_.version(req.version());
    res_.result(http::status::ok);
    res_.set(http::field::content_type, "application/json; charset=utf-8");
    res_.keep_alive(req.keep_alive());
    res_.body() = alive_body;
    res_.prepare_payload();
    stream_.expires_after(io_timeout);
    http::async_write(
        stream_, res_,
        beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec)
      return do_close();
    if (!res_.keep_alive())
      return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
};

/// Accepts connections, each onto its own strand.
class listener : public std::enable_shared_from_this<listener> {
public:
  listener(asio::io_context& ioc, tcp::endpoint ep)
      : ioc_(ioc), acceptor_(ioc) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void run() { do_accept(); }

  void stop() {
    beast::error_code ec;
    acceptor_.close(ec);
  }

private:
  void do_accept() {
    acceptor_.async_accept(
        asio::make_strand(ioc_),
        beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open())
      return;
    if (ec) {
      fail(ec, "accept");
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<session>(std::move(socket))->run();
    }
    do_accept();
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
};

[[noreturn]] void usage(const char* prog) {
  std::fprintf(stderr, "usage: %s [--host ADDR] [--port N] [--threads N]\n",
               prog);
  std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  unsigned long port = 0;
  unsigned long threads = 1;
  for (int i = 1; i < argc; ++i) {
    auto arg = std::string(argv[i]);
    if (i + 1 >= argc)
      usage(argv[0]);
    char* end = nullptr;
    if (arg == "--host") {
      host = argv[++i];
    } else if (arg == "--port") {
      port = std::strtoul(argv[++i], &end, 10);
      if (*end != '\0' || port > 65535)
        usage(argv[0]);
    } else if (arg == "--threads") {
      threads = std::strtoul(argv[++i], &end, 10);
      if (*end != '\0' || threads < 1 || threads > 64)
        usage(argv[0]);
    } else {
      usage(argv[0]);
    }
  }

  asio::io_context ioc{static_cast<int>(threads)};
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    std::fprintf(stderr, "bare_server: '%s' is not an IP address\n",
                 host.c_str());
    return 2;
  }
  std::shared_ptr<listener> lst;
  try {
    lst = std::make_shared<listener>(
        ioc, tcp::endpoint{addr, static_cast<std::uint16_t>(port)});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bare_server: cannot listen on %s:%lu: %s\n",
                 host.c_str(), port, e.what());
    return 1;
  }
  lst->run();

  // SIGTERM/SIGINT stop the io_context; open connections are simply dropped.
  asio::signal_set signals{ioc, SIGINT, SIGTERM};
  signals.async_wait([&](beast::error_code, int) {
    lst->stop();
    ioc.stop();
  });

  std::printf("{\"event\":\"http-listening\",\"host\":\"%s\",\"port\":%u,"
              "\"threads\":%lu}\n",
              host.c_str(), static_cast<unsigned>(lst->port()), threads);
  std::fflush(stdout);

  std::vector<std::thread> pool;
  for (unsigned long i = 1; i < threads; ++i)
    pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool)
    t.join();
  return 0;
}
