#pragma once
// Requests whose continuations cannot end the actor that makes them.
//
// CAF 0.17.6 ends an actor when one of its response handlers (a `.then`
// continuation) throws, whatever the actor's exception handler returns
// (scheduled_actor::resume quits with the handler's error). For an HTTP
// front that meant: until the supervisor put a new front in its slot, a
// request the dispatcher handed to the dead one answered a bare 503 with
// no request id (docs/reliability.md, "Handler exceptions").
//
// safe_request(self, xs...) is self->request(xs...) with both continuations
// wrapped. An exception that leaves the value handler is handed to the
// error handler as `sec::runtime_error` carrying the exception's text (the
// front answers it 500 internal_error with the request id and counts it in
// http_handler_exceptions_total); one that leaves the error handler is
// logged and dropped (the error handler is the last code of that request:
// the responder answers it if nothing did). The fronts and the flows they
// run (actors/*_flow.hpp, email_flows.hpp) make every request this way.
// Owners (session, DB, mailer, ...) keep plain requests: an owner that
// throws is restarted by the supervisor with its state reloaded.
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include <caf/detail/type_traits.hpp>
#include <caf/error.hpp>
#include <caf/sec.hpp>

#include "core/log.hpp"

namespace authsvc {

namespace safe_request_detail {

/// The error an exception in a value handler becomes.
inline caf::error continuation_error(const char* what) {
  return caf::make_error(caf::sec::runtime_error,
                         std::string("exception in a continuation: ") + what);
}

/// An exception left an error handler: nothing else of that request runs.
inline void log_dropped() {
  log::error("actor", "continuation-exception",
             {{"in", "error handler"}, {"action", "dropped, actor kept"}});
}

/// `f` with the argument types CAF reads off it (it dispatches responses
/// by the handler's signature, so the wrapper must keep it exactly).
template <class F, class G, class... Ts>
auto value_handler(std::shared_ptr<F> f, std::shared_ptr<G> g,
                   caf::detail::type_list<Ts...>) {
  return [f, g](Ts... xs) {
    caf::error failure;
    try {
      (*f)(std::forward<Ts>(xs)...);
      return;
    } catch (const std::exception& e) {
      failure = continuation_error(e.what());
    } catch (...) {
      failure = continuation_error("unknown exception");
    }
    try {
      (*g)(failure);
    } catch (...) {
      log_dropped();
    }
  };
}

template <class G>
auto error_handler(std::shared_ptr<G> g) {
  return [g](caf::error& e) {
    try {
      (*g)(e);
    } catch (...) {
      log_dropped();
    }
  };
}

} // namespace safe_request_detail

/// A response handle whose `then` wraps both continuations (see above).
template <class Handle>
class safe_response {
public:
  explicit safe_response(Handle handle) : handle_(std::move(handle)) {}

  template <class F, class G>
  void then(F f, G g) const {
    namespace d = safe_request_detail;
    using args = typename caf::detail::get_callable_trait<F>::arg_types;
    auto on_error = std::make_shared<G>(std::move(g));
    handle_.then(
        d::value_handler(std::make_shared<F>(std::move(f)), on_error, args{}),
        d::error_handler(on_error));
  }

private:
  Handle handle_;
};

/// `self->request(xs...)`, with continuations that cannot end `self`.
template <class Self, class... Ts>
auto safe_request(Self&& self, Ts&&... xs) {
  using handle = decltype(self->request(std::forward<Ts>(xs)...));
  return safe_response<handle>{self->request(std::forward<Ts>(xs)...)};
}

} // namespace authsvc
