#include <catch2/catch.hpp>

#include "core/metrics_registry.hpp"

using namespace authsvc::metrics;

TEST_CASE("the registry renders Prometheus text", "[metrics]") {
  registry r;
  r.declare("requests_total", family_type::counter, "Requests.", {"route"});
  r.declare("latency_seconds", family_type::histogram, "Latency.", {},
            {0.1, 1});
  CHECK(r.apply(inc("requests_total", {"/a"})));
  CHECK(r.apply(inc("requests_total", {"/a"}, 2)));
  CHECK(r.apply(observe("latency_seconds", 0.05)));
  CHECK(r.apply(observe("latency_seconds", 0.5)));
  CHECK(r.apply(observe("latency_seconds", 5)));
  CHECK_FALSE(r.apply(inc("unknown_total")));
  CHECK_FALSE(r.apply(inc("requests_total", {})));         // label count
  CHECK_FALSE(r.apply(inc("requests_total", {"/a"}, -1))); // counters only grow
  auto text = r.render();
  CHECK(text.find("# TYPE requests_total counter") != std::string::npos);
  CHECK(text.find("requests_total{route=\"/a\"} 3\n") != std::string::npos);
  CHECK(text.find("latency_seconds_bucket{le=\"0.1\"} 1\n")
        != std::string::npos);
  CHECK(text.find("latency_seconds_bucket{le=\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("latency_seconds_bucket{le=\"+Inf\"} 3\n")
        != std::string::npos);
  CHECK(text.find("latency_seconds_count 3\n") != std::string::npos);
}

TEST_CASE("label values are escaped", "[metrics]") {
  registry r;
  r.declare("x_total", family_type::counter, "X.", {"v"});
  r.apply(inc("x_total", {"a\"b\\c\nd"}));
  CHECK(r.render().find(R"(x_total{v="a\"b\\c\nd"} 1)") != std::string::npos);
}
