// The route table: every path the service answers, in one place. Guards and
// rate-limit classes are declared here and applied by the front actor.
#include "actors/http_front.hpp"
#include "http/ops_routes.hpp"

namespace authsvc {

const http::router<route_entry>& route_table() {
  static const auto table = [] {
    namespace r = http_routes;
    http::router<route_entry> t;
    t.add("GET", "/health", {r::health, route_guard::ops});
    t.add("GET", "/liveness", {r::liveness, route_guard::ops});
    t.add("GET", "/readiness", {r::readiness, route_guard::ops});
    t.add("GET", "/metrics", {r::metrics, route_guard::ops});
    return t;
  }();
  return table;
}

}  // namespace authsvc
