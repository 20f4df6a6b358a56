#pragma once
// What crosses between the Beast transport and the HTTP front actors: a
// parsed request, a response, and the one-shot responder that writes the
// response back on the connection's strand. No Beast and no CAF types here,
// so transport and actors compile apart (a TU with both takes ~30 s).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc::http {

struct header_field {
  std::string name;
  std::string value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, header_field& x) {
  return f(x.name, x.value);
}

/// Why the transport could not hand over a normal request; the front actor
/// still answers it, so every error gets the same headers and shape.
enum class rejection : std::uint8_t {
  none = 0,
  header_too_large = 1, ///< 431
  body_too_large = 2,   ///< 413
  malformed = 3,        ///< 400
  overloaded = 4,       ///< 503
};

struct request {
  std::string method;
  std::string target; ///< path and query as received
  std::vector<header_field> headers;
  std::string body;
  std::string peer; ///< socket peer address
  bool tls = false;
  std::uint8_t rejected = 0;    ///< a rejection value
  std::int64_t received_ns = 0; ///< steady clock when the header arrived

  /// First header named `name` (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  /// Path without the query string.
  std::string_view path() const;
  /// Raw query string (after '?'), or empty.
  std::string_view query() const;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request& x) {
  return f(x.method, x.target, x.headers, x.body, x.peer, x.tls, x.rejected,
           x.received_ns);
}

struct response {
  std::uint16_t status = 200;
  std::vector<header_field> headers;
  std::string body;
  bool close = false; ///< close the connection after writing
  bool head = false;  ///< HEAD request: send headers only

  void set_header(std::string name, std::string value);
  std::string_view header(std::string_view name) const;
  void remove_header(std::string_view name);
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, response& x) {
  return f(x.status, x.headers, x.body, x.close, x.head);
}

/// Delivers one response back to its connection. The transport builds it
/// around a callback that posts to the connection's strand. If it is
/// destroyed unanswered (an actor died, a mailbox was dropped), it answers
/// 503 itself, so a connection never hangs.
class responder {
public:
  using callback = std::function<void(response&&)>;

  explicit responder(callback cb) : cb_(std::move(cb)) {}
  ~responder();
  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;

  /// Sends the response; later calls are ignored.
  void reply(response&& r);
  bool replied() const { return !cb_; }

private:
  callback cb_;
};

using responder_ptr = std::shared_ptr<responder>;

/// Case-insensitive ASCII comparison for header names.
bool iequals(std::string_view a, std::string_view b);

} // namespace authsvc::http
