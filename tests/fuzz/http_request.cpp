// HTTP/1.1 request parsing as http/server.cpp does it: a fresh Beast
// request_parser<string_body> per request with the server's header and body
// limits, read header first and then the body, pipelined requests one after
// the other on the same buffer, each turned into an http::request the way
// session::on_body does. The bytes come from memory in chunks whose size the
// first input byte picks, so requests split across reads are covered too.
#include <algorithm>
#include <cstring>
#include <optional>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "front/middleware.hpp"
#include "http/message.hpp"
#include "http/server.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using authsvc::fuzz::check;

namespace {

/// A SyncReadStream over the fuzz input, `chunk` bytes per read_some.
class memory_stream {
public:
  memory_stream(const std::uint8_t* data, std::size_t size, std::size_t chunk)
      : data_(data), size_(size), chunk_(chunk) {}

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    ec = {};
    if (pos_ == size_) {
      ec = net::error::eof;
      return 0;
    }
    std::size_t want = std::min(chunk_, size_ - pos_);
    std::size_t n = net::buffer_copy(buffers, net::buffer(data_ + pos_, want));
    pos_ += n;
    return n;
  }

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    auto n = read_some(buffers, ec);
    if (ec)
      throw beast::system_error(ec);
    return n;
  }

private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t chunk_;
  std::size_t pos_ = 0;
};

/// The request line and header fields, copied as session::on_body and
/// on_read_error do.
template <class Header>
authsvc::http::request request_of(const Header& h) {
  authsvc::http::request req;
  req.method = std::string(h.method_string());
  req.target = std::string(h.target());
  for (const auto& f : h)
    req.headers.push_back(
        {std::string(f.name_string()), std::string(f.value())});
  return req;
}

const authsvc::http::server_options& options() {
  static const authsvc::http::server_options o;
  return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0)
    return 0;
  std::size_t chunk = 1 + data[0] % 64 * 16; // 1, 17, ... 1009 bytes per read
  memory_stream stream(data + 1, size - 1, chunk);
  beast::flat_buffer buffer;
  const auto& opts = options();
  for (std::size_t n = 0; n < opts.pipeline_limit; ++n) {
    std::optional<bhttp::request_parser<bhttp::string_body>> parser;
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
    parser->body_limit(opts.max_body_bytes);
    beast::error_code ec;
    bhttp::read_header(stream, buffer, *parser, ec);
    if (!ec)
      bhttp::read(stream, buffer, *parser, ec);
    if (ec) {
      // What on_read_error copies into the rejected request.
      (void)request_of(parser->get()).path();
      return 0;
    }
    auto msg = parser->release();
    check(msg.body().size() <= opts.max_body_bytes, "body over the limit");
    auto req = request_of(msg);
    req.body = std::move(msg.body());
    // What every route reads of a request before its handler runs.
    (void)req.path();
    (void)authsvc::http::parse_form(req.query());
    (void)req.header("Content-Type");
    (void)authsvc::http::has_media_type(req, "application/json");
    if (!msg.keep_alive())
      return 0;
  }
  return 0;
}
