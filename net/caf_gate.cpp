#include "net/caf_gate.hpp"

#include <array>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "auth/basp_guard.hpp"
#include "core/log.hpp"
#include "net/caf_node_id.hpp"
#include "net/client_identity.hpp"

namespace authsvc::net {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct caf_gate::impl {
  impl(caf_gate_options o, std::shared_ptr<authsvc::caf_peer_registry> p)
      : opts(std::move(o)), peers(std::move(p)) {}

  void accept_next();

  // Declared before the io_context: the connections that its destructor
  // frees still count, unbind and use the TLS contexts on the way out.
  caf_gate_options opts;
  std::shared_ptr<authsvc::caf_peer_registry> peers;
  caf_gate_stats stats;
  std::size_t open = 0; // only touched on the gate's thread
  std::optional<ssl::context> outer_tls;
  ssl::context inner_tls{ssl::context::tls_client};
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
};

namespace {

void log_refusal(const caf_gate::impl* gate, const std::string& ip,
                 const char* reason, const std::string& detail = {}) {
  if (gate->opts.on_refusal)
    gate->opts.on_refusal(reason);
  nlohmann::json f{{"peer_ip", ip}, {"reason", reason}};
  if (!detail.empty())
    f["detail"] = detail;
  log::warn("caf", "caf-connection-refused", f);
}

/// One client connection and its inner twin. `Outer` is a plain socket or
/// an SSL stream over one; the inner side is always CAF's mutual TLS.
template <class Outer>
class gate_session : public std::enable_shared_from_this<gate_session<Outer>> {
public:
  gate_session(caf_gate::impl* gate, Outer outer, std::string ip)
      : gate_(gate), outer_(std::move(outer)),
        inner_(gate->ioc, gate->inner_tls), deadline_(gate->ioc),
        guard_(gate->opts.max_message_bytes), ip_(std::move(ip)) {}

  ~gate_session() {
    if (bound_)
      gate_->peers->unbind(node_);
    --gate_->open;
  }

  void start() {
    auto self = this->shared_from_this();
    deadline_.expires_after(gate_->opts.handshake_timeout);
    deadline_.async_wait([self](error_code ec) {
      if (!ec && !self->handshake_seen_) {
        log_refusal(self->gate_, self->ip_, "handshake_timeout");
        ++self->gate_->stats.refused_protocol;
        self->close();
      }
    });
    if constexpr (std::is_same_v<Outer, tcp::socket>) {
      connect_inner();
    } else {
      outer_.async_handshake(ssl::stream_base::server, [self](error_code ec) {
        if (ec) {
          ++self->gate_->stats.refused_tls;
          log_refusal(self->gate_, self->ip_, "tls_handshake", ec.message());
          return self->close();
        }
        if (!self->check_client_certificate())
          return self->close();
        self->connect_inner();
      });
    }
  }

private:
  /// The CA already vouched for the chain (verify_peer + fail_if_no_cert);
  /// here: not the server's own certificate, meant for clients, and named
  /// in caf.allowed_clients.
  bool check_client_certificate() {
    SSL* s = outer_.native_handle();
    X509* peer = SSL_get1_peer_certificate(s);
    if (!peer || SSL_get_verify_result(s) != X509_V_OK) {
      if (peer)
        X509_free(peer);
      ++gate_->stats.refused_tls;
      log_refusal(gate_, ip_, "no_verified_certificate");
      return false;
    }
    X509* own = SSL_CTX_get0_certificate(gate_->outer_tls->native_handle());
    bool is_server_cert = own && X509_cmp(peer, own) == 0;
    bool for_clients
        = X509_check_purpose(peer, X509_PURPOSE_SSL_CLIENT, 0) == 1;
    auto names = certificate_names(peer);
    X509_free(peer);
    if (is_server_cert || !for_clients) {
      ++gate_->stats.refused_tls;
      log_refusal(gate_, ip_,
                  is_server_cert ? "server_certificate"
                                 : "not_a_client_certificate");
      return false;
    }
    identity_ = allowed_identity(names, gate_->opts.allowed_clients);
    if (identity_.empty()) {
      ++gate_->stats.refused_identity;
      log_refusal(gate_, ip_, "not_allowed",
                  names.empty() ? std::string{"(no name)"} : names.front());
      return false;
    }
    return true;
  }

  void connect_inner() {
    auto self = this->shared_from_this();
    tcp::endpoint ep{asio::ip::make_address_v4("127.0.0.1"),
                     gate_->opts.inner_port};
    inner_.lowest_layer().async_connect(ep, [self](error_code ec) {
      if (ec) {
        log::error("caf", "caf-inner-connect-failed",
                   {{"error", ec.message()}});
        return self->close();
      }
      self->inner_.async_handshake(
          ssl::stream_base::client, [self](error_code ec) {
            if (ec) {
              log::error("caf", "caf-inner-handshake-failed",
                         {{"error", ec.message()}});
              return self->close();
            }
            ++self->gate_->stats.accepted;
            self->pump_up();
            self->pump_down();
          });
    });
  }

  /// Client -> CAF, through the guard.
  void pump_up() {
    auto self = this->shared_from_this();
    outer_.async_read_some(asio::buffer(up_), [self](error_code ec,
                                                     std::size_t n) {
      if (ec)
        return self->close();
      auto v = self->guard_.feed(self->up_.data(), n);
      if (v == auth::basp_verdict::too_large
          || v == auth::basp_verdict::bad_operation) {
        bool big = v == auth::basp_verdict::too_large;
        ++(big ? self->gate_->stats.refused_size
               : self->gate_->stats.refused_protocol);
        log_refusal(
            self->gate_, self->ip_, big ? "message_too_large" : "protocol",
            "operation " + std::to_string(self->guard_.last_operation()) + ", "
                + std::to_string(self->guard_.last_length()) + " bytes"
                + (self->identity_.empty() ? std::string{}
                                           : ", client " + self->identity_));
        return self->close();
      }
      if (v == auth::basp_verdict::handshake_ready && !self->on_handshake())
        return self->close();
      asio::async_write(self->inner_, asio::buffer(self->up_.data(), n),
                        [self](error_code ec, std::size_t) {
                          if (ec)
                            return self->close();
                          self->pump_up();
                        });
    });
  }

  /// CAF -> client: our own bytes, passed as they come.
  void pump_down() {
    auto self = this->shared_from_this();
    inner_.async_read_some(
        asio::buffer(down_), [self](error_code ec, std::size_t n) {
          if (ec)
            return self->close();
          asio::async_write(self->outer_, asio::buffer(self->down_.data(), n),
                            [self](error_code ec, std::size_t) {
                              if (ec)
                                return self->close();
                              self->pump_down();
                            });
        });
  }

  bool on_handshake() {
    handshake_seen_ = true;
    deadline_.cancel();
    auto node = decode_handshake_node(guard_.handshake_payload());
    if (!node || (handshakes_++ > 0 && *node != node_)) {
      ++gate_->stats.refused_protocol;
      log_refusal(gate_, ip_, "bad_handshake", identity_);
      return false;
    }
    if (handshakes_ > 1)
      return true; // the same node again: CAF ignores it
    node_ = std::move(*node);
    if (identity_.empty()) // plaintext: no identity to bind
      return true;
    if (!gate_->peers->bind(node_, identity_)) {
      ++gate_->stats.refused_protocol;
      log_refusal(gate_, ip_, "node_id_taken", identity_);
      return false;
    }
    bound_ = true;
    log::info("caf", "caf-client-connected",
              {{"peer_ip", ip_}, {"identity", identity_}, {"node", node_}});
    return true;
  }

  void close() {
    if (closed_)
      return;
    closed_ = true;
    error_code ignored;
    deadline_.cancel();
    outer_.lowest_layer().close(ignored);
    inner_.lowest_layer().close(ignored);
  }

  caf_gate::impl* gate_;
  Outer outer_;
  ssl::stream<tcp::socket> inner_;
  asio::steady_timer deadline_;
  auth::basp_guard guard_;
  std::string ip_;
  std::string identity_;
  std::string node_;
  int handshakes_ = 0;
  bool bound_ = false;
  bool handshake_seen_ = false;
  bool closed_ = false;
  std::array<std::uint8_t, 16384> up_{};
  std::array<std::uint8_t, 16384> down_{};
};

} // namespace

void caf_gate::impl::accept_next() {
  acceptor.async_accept([this](error_code ec, tcp::socket sock) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open())
      return;
    if (!ec) {
      error_code ignored;
      auto ep = sock.remote_endpoint(ignored);
      auto ip = ignored ? std::string{"?"} : ep.address().to_string();
      if (open >= opts.max_connections) {
        ++stats.refused_busy;
        log_refusal(this, ip, "too_many_connections");
        sock.close(ignored);
      } else {
        ++open;
        if (outer_tls)
          std::make_shared<gate_session<ssl::stream<tcp::socket>>>(
              this, ssl::stream<tcp::socket>{std::move(sock), *outer_tls}, ip)
              ->start();
        else
          std::make_shared<gate_session<tcp::socket>>(this, std::move(sock), ip)
              ->start();
      }
    }
    accept_next();
  });
}

caf_gate::caf_gate(caf_gate_options opts,
                   std::shared_ptr<authsvc::caf_peer_registry> peers)
    : impl_(std::make_shared<impl>(std::move(opts), std::move(peers))) {}

caf_gate::~caf_gate() {
  stop();
}

const caf_gate_stats& caf_gate::stats() const noexcept {
  return impl_->stats;
}

std::uint16_t caf_gate::start() {
  auto& g = *impl_;
  try {
    if (!g.opts.cert.empty()) {
      g.outer_tls.emplace(ssl::context::tls_server);
      auto& c = *g.outer_tls;
      c.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2
                    | ssl::context::no_sslv3 | ssl::context::no_tlsv1
                    | ssl::context::no_tlsv1_1);
      c.use_certificate_chain_file(g.opts.cert);
      c.use_private_key_file(g.opts.key, ssl::context::pem);
      c.load_verify_file(g.opts.ca);
      c.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    g.inner_tls.use_certificate_chain_file(g.opts.inner_cert);
    g.inner_tls.use_private_key_file(g.opts.inner_key, ssl::context::pem);
    g.inner_tls.load_verify_file(g.opts.inner_cert);
    g.inner_tls.set_verify_mode(ssl::verify_peer);
    auto host
        = g.opts.host == "localhost" ? std::string{"127.0.0.1"} : g.opts.host;
    tcp::endpoint ep{asio::ip::make_address(host), g.opts.port};
    g.acceptor.open(ep.protocol());
    g.acceptor.set_option(tcp::acceptor::reuse_address(true));
    g.acceptor.bind(ep);
    g.acceptor.listen();
  } catch (const std::exception& e) {
    throw std::runtime_error("caf.port: cannot listen on " + g.opts.host + ":"
                             + std::to_string(g.opts.port) + ": " + e.what());
  }
  auto port = g.acceptor.local_endpoint().port();
  g.accept_next();
  thread_ = std::thread{[p = impl_] { p->ioc.run(); }};
  return port;
}

void caf_gate::stop() {
  if (!thread_.joinable())
    return;
  asio::post(impl_->ioc, [p = impl_.get()] {
    error_code ignored;
    p->acceptor.close(ignored);
    p->ioc.stop();
  });
  thread_.join();
}

} // namespace authsvc::net
