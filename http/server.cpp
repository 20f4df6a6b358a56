// Shaped after Beast's advanced server example: one strand per connection,
// do_x/on_x pairs, a fresh parser per request with header and body limits,
// a timeout on every read and write, and a bounded queue of pipelined
// requests whose answers are written in order.
#include "http/server.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "auth/cidr.hpp"
#include "auth/client_ip.hpp"

namespace authsvc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

/// Something the server can ask to wind down during a drain.
class session_iface {
public:
  virtual ~session_iface() = default;
  virtual void begin_drain() = 0;
};

} // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
  server_options opts;
  dispatcher dispatch;
  asio::io_context ioc;
  std::optional<ssl::context> tls;
  tcp::acceptor acceptor{ioc};
  asio::signal_set signals{ioc, SIGINT, SIGTERM};
  std::vector<std::thread> threads;
  std::atomic<std::size_t> open_connections{0};
  std::atomic<bool> draining{false};
  /// Admitted requests not answered yet (see server_options::max_in_flight).
  std::atomic<std::size_t> in_flight{0};

  std::mutex mtx;
  std::condition_variable cv;
  bool stop_requested = false;
  std::size_t threads_done = 0;
  std::unordered_map<session_iface*, std::weak_ptr<session_iface>> sessions;
  /// Open connections per client key (see conn_key), for the per-address
  /// cap; guarded by `mtx`. Exempt peers are not counted.
  std::unordered_map<std::string, std::size_t> per_ip;
  std::vector<auth::cidr_block> per_ip_exempt;

  /// The key a connection from `peer` counts under: the address (IPv4, or
  /// IPv4-mapped as IPv4) or its /64 (IPv6, where one client owns a whole
  /// /64); empty when the peer is exempt or has no address.
  std::string conn_key(const asio::ip::address& peer) const {
    if (opts.max_connections_per_ip == 0)
      return {};
    auto ip = auth::ip_address::parse(peer.to_string());
    if (!ip || auth::contains_any(per_ip_exempt, *ip))
      return {};
    return auth::rate_limit_key(*ip);
  }

  /// Counts one more connection under `key`. @returns false (and counts
  /// nothing) when the key is at its cap.
  bool take_ip_slot(const std::string& key) {
    if (key.empty())
      return true;
    std::lock_guard<std::mutex> guard(mtx);
    auto& n = per_ip[key];
    if (n >= opts.max_connections_per_ip)
      return false;
    ++n;
    return true;
  }

  void release_ip_slot(const std::string& key) {
    if (key.empty())
      return;
    std::lock_guard<std::mutex> guard(mtx);
    auto it = per_ip.find(key);
    if (it != per_ip.end() && --it->second == 0)
      per_ip.erase(it);
  }

  // -- admission control ------------------------------------------------------

  /// Whether `req` is subject to the in-flight bound: not when there is
  /// none, not for exempt paths (probes) and not for requests the transport
  /// already rejected.
  bool sheddable(const request& req) const {
    if (opts.max_in_flight == 0 || req.rejected != 0)
      return false;
    auto path = req.path();
    for (const auto& p : opts.shed_exempt_paths)
      if (path == p)
        return false;
    return true;
  }

  /// Counts one more request in flight. @returns false (counting nothing)
  /// when the bound is reached: the request is to be shed now rather than
  /// queued in an owner's mailbox, where the wait would grow with the load.
  bool admit() {
    if (in_flight.fetch_add(1, std::memory_order_relaxed)
        >= opts.max_in_flight) {
      in_flight.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }

  void add_session(const std::shared_ptr<session_iface>& s) {
    std::lock_guard<std::mutex> guard(mtx);
    sessions.emplace(s.get(), s);
  }
  void remove_session(session_iface* s) {
    std::lock_guard<std::mutex> guard(mtx);
    sessions.erase(s);
  }

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
};

namespace {

/// One connection. `Stream` is beast::tcp_stream or an ssl_stream over it.
template <class Stream>
class session : public session_iface,
                public std::enable_shared_from_this<session<Stream>> {
public:
  session(std::shared_ptr<server::impl> srv, Stream&& stream, std::string peer,
          std::string ip_key, bool tls)
      : srv_(std::move(srv)), stream_(std::move(stream)),
        peer_(std::move(peer)), ip_key_(std::move(ip_key)), tls_(tls) {}

  ~session() override {
    srv_->open_connections.fetch_sub(1);
    srv_->release_ip_slot(ip_key_);
    srv_->remove_session(this);
  }

  void run() {
    // Start on the strand: the acceptor's completion is not on it.
    asio::dispatch(
        stream_.get_executor(),
        beast::bind_front_handler(&session::on_run, this->shared_from_this()));
  }

  void begin_drain() override {
    asio::post(stream_.get_executor(),
               [self = this->shared_from_this()] { self->on_drain(); });
  }

private:
  // -- startup ----------------------------------------------------------------

  void on_run() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      do_read();
    } else {
      beast::get_lowest_layer(stream_).expires_after(srv_->opts.header_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&session::on_handshake,
                                    this->shared_from_this()));
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec)
      return do_close();
    do_read();
  }

  // -- reading ----------------------------------------------------------------

  void do_read() {
    if (reading_ || closing_ || draining_ || stop_reading_)
      return;
    if (queue_.size() >= srv_->opts.pipeline_limit)
      return; // resumed by on_write
    // Read ahead only when the client already pipelined bytes: an idle read
    // while an answer is pending would let the header timeout close a
    // connection whose client is patiently waiting.
    if (!queue_.empty() && buffer_.size() == 0)
      return;
    reading_ = true;
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(srv_->opts.max_header_bytes));
    parser_->body_limit(srv_->opts.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(srv_->opts.header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&session::on_header,
                                  this->shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec)
      return on_read_error(ec);
    received_ns_ = srv_->opts.clock->steady_ns();
    beast::get_lowest_layer(stream_).expires_after(srv_->opts.body_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&session::on_body, this->shared_from_this()));
  }

  void on_body(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (ec)
      return on_read_error(ec);
    beast::get_lowest_layer(stream_).expires_never();
    auto msg = parser_->release();
    parser_.reset();
    request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.headers.reserve(8);
    for (const auto& f : msg)
      req.headers.push_back(
          {std::string(f.name_string()), std::string(f.value())});
    req.body = std::move(msg.body());
    req.peer = peer_;
    req.tls = tls_;
    req.received_ns = received_ns_;
    bool keep_alive = msg.keep_alive();
    enqueue(std::move(req), msg.version(), keep_alive && !draining_);
    if (keep_alive && !draining_)
      do_read();
    else
      stop_reading_ = true;
  }

  void on_read_error(beast::error_code ec) {
    reading_ = false;
    rejection why = rejection::none;
    if (ec == bhttp::error::header_limit)
      why = rejection::header_too_large;
    else if (ec == bhttp::error::body_limit)
      why = rejection::body_too_large;
    else if (ec.category()
                 == bhttp::make_error_code(bhttp::error::end_of_stream)
                        .category()
             && ec != bhttp::error::end_of_stream
             && ec != bhttp::error::partial_message)
      why = rejection::malformed;
    if (why == rejection::none) {
      // End of stream, reset, timeout (a slow client) or cancellation: close
      // without an answer; nobody is waiting for one. Answers still queued
      // are written first.
      stop_reading_ = true;
      if (queue_.empty())
        do_close();
      return;
    }
    // The stream cannot be resynchronised after a limit or parse error:
    // answer (through the front actors, for the usual headers) and close.
    request req;
    req.peer = peer_;
    req.tls = tls_;
    req.rejected = static_cast<std::uint8_t>(why);
    req.received_ns = srv_->opts.clock->steady_ns();
    if (parser_) {
      const auto& h = parser_->get();
      req.method = std::string(h.method_string());
      req.target = std::string(h.target());
      for (const auto& f : h)
        req.headers.push_back(
            {std::string(f.name_string()), std::string(f.value())});
    }
    parser_.reset();
    stop_reading_ = true;
    enqueue(std::move(req), 11, false);
  }

  // -- dispatching ------------------------------------------------------------

  void enqueue(request&& req, unsigned version, bool keep_alive) {
    auto id = next_id_++;
    queue_.push_back(
        slot{id, false, {}, version, keep_alive, req.method == "HEAD"});
    bool counted = false;
    if (srv_->sheddable(req)) {
      counted = srv_->admit();
      if (!counted && srv_->opts.shed_reply) {
        // Answered here, on the connection's strand: the excess costs no
        // actor anything (server_options::shed_reply).
        return on_response(id, srv_->opts.shed_reply(req));
      }
      if (!counted)
        req.rejected = static_cast<std::uint8_t>(rejection::overloaded);
    }
    // The work guard keeps the io_context running while an actor holds the
    // request, which is what lets a drain wait for in-flight answers.
    auto reply = [self = this->shared_from_this(), id, counted,
                  guard = asio::make_work_guard(srv_->ioc)](response&& r) {
      if (counted)
        self->srv_->in_flight.fetch_sub(1, std::memory_order_relaxed);
      asio::post(self->stream_.get_executor(),
                 [self, id, r = std::move(r)]() mutable {
                   self->on_response(id, std::move(r));
                 });
    };
    srv_->dispatch(std::move(req),
                   std::make_shared<responder>(std::move(reply)));
  }

  void on_response(std::uint64_t id, response&& r) {
    for (auto& s : queue_)
      if (s.id == id) {
        s.res = std::move(r);
        s.ready = true;
        break;
      }
    do_write();
  }

  // -- writing ----------------------------------------------------------------

  void do_write() {
    if (writing_ || closing_ || queue_.empty() || !queue_.front().ready)
      return;
    writing_ = true;
    auto& s = queue_.front();
    close_after_write_ = s.res.close || !s.keep_alive || draining_
                         || (stop_reading_ && queue_.size() == 1);
    bool head_only = s.head || s.res.head;
    // The head is written straight into one reused string rather than
    // through a beast::http::response: Beast would allocate an element per
    // field and serialise each as four small buffers, for the ten-odd
    // headers every answer carries. The front actor already made the names
    // unique.
    auto& h = head_;
    h.clear();
    h += s.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    h += std::to_string(s.res.status);
    h += ' ';
    auto reason
        = bhttp::obsolete_reason(static_cast<bhttp::status>(s.res.status));
    h.append(reason.data(), reason.size());
    h += "\r\n";
    for (const auto& f : s.res.headers) {
      if (iequals(f.name, "Content-Length") || iequals(f.name, "Connection"))
        continue; // set below, from the body and the connection state
      // No field may end the head early (response splitting): some values
      // echo client input (X-Request-ID, Location), and writing the head by
      // hand means nothing else checks them here.
      if (f.name.find_first_of("\r\n:") != std::string::npos
          || f.value.find_first_of("\r\n") != std::string::npos)
        continue;
      h += f.name;
      h += ": ";
      h += f.value;
      h += "\r\n";
    }
    // RFC 9110 §8.6: no Content-Length on 1xx, 204 and 304 (Beast's
    // prepare_payload sent "Content-Length: 0" on our 204s).
    auto st = s.res.status;
    if (!(st / 100 == 1 || st == 204 || st == 304)) {
      h += "Content-Length: ";
      h += std::to_string(s.res.body.size());
      h += "\r\n";
    }
    // As Beast's keep_alive(): 1.1 says when it closes, 1.0 when it stays.
    if (s.version >= 11 && close_after_write_)
      h += "Connection: close\r\n";
    else if (s.version < 11 && !close_after_write_)
      h += "Connection: keep-alive\r\n";
    h += "\r\n";
    std::array<asio::const_buffer, 2> bufs{
        asio::buffer(h),
        head_only ? asio::const_buffer() : asio::buffer(s.res.body)};
    beast::get_lowest_layer(stream_).expires_after(srv_->opts.body_timeout);
    asio::async_write(stream_, bufs,
                      beast::bind_front_handler(&session::on_write,
                                                this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    beast::get_lowest_layer(stream_).expires_never();
    if (ec)
      return do_close();
    queue_.pop_front();
    if (close_after_write_)
      return do_close();
    if (!queue_.empty())
      return do_write();
    if (draining_ || stop_reading_)
      return do_close();
    do_read();
  }

  // -- closing ----------------------------------------------------------------

  void on_drain() {
    draining_ = true;
    // A request whose first bytes arrived is in flight: let it finish
    // (bounded by its timeouts) and close after the answer.
    bool mid_request
        = reading_ && parser_ && (parser_->got_some() || buffer_.size() > 0);
    if (queue_.empty() && !writing_ && !mid_request) {
      // Idle (waiting for the next request): cancel the read; its handler
      // sees operation_aborted and closes.
      if (reading_)
        beast::get_lowest_layer(stream_).cancel();
      else
        do_close();
    }
    // Busy connections close after their last answer (see do_write).
  }

  void do_close() {
    if (closing_)
      return;
    closing_ = true;
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream_.socket().close(ec);
    } else {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(1));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) {
            beast::error_code ignored;
            beast::get_lowest_layer(self->stream_).socket().close(ignored);
          });
    }
  }

  struct slot {
    std::uint64_t id;
    bool ready;
    response res;
    unsigned version;
    bool keep_alive;
    bool head;
  };

  std::shared_ptr<server::impl> srv_;
  Stream stream_;
  std::string peer_;
  std::string ip_key_; ///< per-address cap key; empty = not counted
  bool tls_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::deque<slot> queue_;
  std::string head_; ///< the response head being written (reused)
  std::uint64_t next_id_ = 0;
  std::int64_t received_ns_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool draining_ = false;
  bool stop_reading_ = false;
  bool close_after_write_ = false;
};

} // namespace

void server::impl::do_accept() {
  acceptor.async_accept(
      asio::make_strand(ioc),
      beast::bind_front_handler(&impl::on_accept, shared_from_this()));
}

void server::impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor.is_open())
    return;
  if (!ec) {
    if (open_connections.load() >= opts.max_connections || draining) {
      // Over the connection limit: refuse at once rather than queue, so an
      // attacker cannot pile up sockets that each hold memory.
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      beast::error_code pec;
      auto ep = socket.remote_endpoint(pec);
      std::string peer = pec ? std::string() : ep.address().to_string();
      auto ip_key = pec ? std::string() : conn_key(ep.address());
      if (!take_ip_slot(ip_key)) {
        // This address holds its share already (e.g. many half-sent
        // requests): refuse it like the global cap does, so one client
        // cannot lock everyone else out.
        beast::error_code ignored;
        socket.close(ignored);
        return do_accept();
      }
      socket.set_option(tcp::no_delay(true), pec);
      open_connections.fetch_add(1);
      if (tls) {
        auto s
            = std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(
                shared_from_this(),
                beast::ssl_stream<beast::tcp_stream>(
                    beast::tcp_stream(std::move(socket)), *tls),
                std::move(peer), std::move(ip_key), true);
        add_session(s);
        s->run();
      } else {
        auto s = std::make_shared<session<beast::tcp_stream>>(
            shared_from_this(), beast::tcp_stream(std::move(socket)),
            std::move(peer), std::move(ip_key), false);
        add_session(s);
        s->run();
      }
    }
  }
  do_accept();
}

server::server(server_options opts, dispatcher dispatch)
    : impl_(std::make_shared<impl>()) {
  impl_->opts = std::move(opts);
  impl_->dispatch = std::move(dispatch);
  impl_->per_ip_exempt
      = auth::parse_cidr_list(impl_->opts.per_ip_exempt, nullptr)
            .value_or(std::vector<auth::cidr_block>{});
}

server::~server() {
  if (!impl_->threads.empty()) {
    impl_->ioc.stop();
    for (auto& t : impl_->threads)
      if (t.joinable())
        t.join();
  }
}

std::uint16_t server::start() {
  auto& d = *impl_;
  if (!d.opts.tls_cert.empty()) {
    d.tls.emplace(ssl::context::tls_server);
    d.tls->set_options(ssl::context::default_workarounds
                       | ssl::context::no_sslv2 | ssl::context::no_sslv3
                       | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    beast::error_code ec;
    d.tls->use_certificate_chain_file(d.opts.tls_cert, ec);
    if (ec)
      throw std::runtime_error("cannot load server.tls_cert '" + d.opts.tls_cert
                               + "': " + ec.message());
    d.tls->use_private_key_file(d.opts.tls_key, ssl::context::pem, ec);
    if (ec)
      throw std::runtime_error("cannot load server.tls_key '" + d.opts.tls_key
                               + "': " + ec.message());
  }
  beast::error_code ec;
  auto addr = asio::ip::make_address(d.opts.host, ec);
  if (ec)
    throw std::runtime_error("server.host '" + d.opts.host
                             + "' is not an IP address");
  tcp::endpoint ep{addr, d.opts.port};
  d.acceptor.open(ep.protocol(), ec);
  if (!ec)
    d.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    d.acceptor.bind(ep, ec);
  if (!ec)
    d.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + d.opts.host + ":"
                             + std::to_string(d.opts.port) + ": "
                             + ec.message());
  auto port = d.acceptor.local_endpoint().port();
  d.signals.async_wait([self = impl_](beast::error_code e, int) {
    if (e)
      return;
    std::lock_guard<std::mutex> guard(self->mtx);
    self->stop_requested = true;
    self->cv.notify_all();
  });
  d.do_accept();
  for (std::size_t i = 0; i < std::max<std::size_t>(1, d.opts.io_threads); ++i)
    d.threads.emplace_back([self = impl_] {
      self->ioc.run();
      std::lock_guard<std::mutex> guard(self->mtx);
      ++self->threads_done;
      self->cv.notify_all();
    });
  return port;
}

void server::wait_for_signal() {
  std::unique_lock<std::mutex> lock(impl_->mtx);
  impl_->cv.wait(lock, [&] { return impl_->stop_requested; });
}

void server::request_stop() {
  std::lock_guard<std::mutex> guard(impl_->mtx);
  impl_->stop_requested = true;
  impl_->cv.notify_all();
}

bool server::drain(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  d.draining = true;
  asio::post(d.acceptor.get_executor(), [self = impl_] {
    beast::error_code ec;
    self->acceptor.close(ec);
    self->signals.cancel(ec);
  });
  std::vector<std::shared_ptr<session_iface>> live;
  {
    std::lock_guard<std::mutex> guard(d.mtx);
    for (auto& [ptr, weak] : d.sessions)
      if (auto s = weak.lock())
        live.push_back(std::move(s));
  }
  for (auto& s : live)
    s->begin_drain();
  live.clear();
  // With the acceptor and signal set gone, run() returns once every
  // connection is closed and every in-flight answer is written.
  bool clean;
  {
    std::unique_lock<std::mutex> lock(d.mtx);
    clean = d.cv.wait_for(lock, timeout,
                          [&] { return d.threads_done == d.threads.size(); });
  }
  if (!clean)
    d.ioc.stop();
  for (auto& t : d.threads)
    if (t.joinable())
      t.join();
  d.threads.clear();
  // The dispatcher holds actor handles; drop them before the actor system
  // goes away (sessions parked in mailboxes may keep this impl alive).
  d.dispatch = [](request&&, const responder_ptr&) {};
  return clean;
}

std::size_t server::connections() const {
  return impl_->open_connections.load();
}

std::size_t server::in_flight() const {
  return impl_->in_flight.load();
}

} // namespace authsvc::http
