#pragma once
// Route matching over path templates such as /v1/me/sessions/{id}. Generic
// over the handler type so it stays free of actors and unit-testable.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc::http {

/// Captured `{name}` segments of a matched path.
using path_params = std::map<std::string, std::string>;

/// The HTTP method names the service routes and counts, spelled once (the
/// route table and the metrics' method label use these).
namespace method {
inline constexpr const char* get = "GET";
inline constexpr const char* head = "HEAD";
inline constexpr const char* post = "POST";
inline constexpr const char* put = "PUT";
inline constexpr const char* patch = "PATCH";
inline constexpr const char* del = "DELETE";
inline constexpr const char* options = "OPTIONS";
inline constexpr const char* all[]
    = {get, head, post, put, patch, del, options};
} // namespace method

template <class Handler>
class router {
public:
  struct route {
    std::string method;
    std::string pattern;
    Handler handler;
    std::vector<std::string> segments;
  };

  enum class outcome { found, not_found, method_not_allowed };

  struct match {
    outcome result = outcome::not_found;
    const route* hit = nullptr;
    path_params params;
    std::vector<std::string> allowed; ///< for 405 and OPTIONS
  };

  /// Adds a route; `pattern` segments in braces capture one path segment.
  void add(std::string method, std::string pattern, Handler h) {
    route r{std::move(method), pattern, std::move(h), split(pattern)};
    routes_.push_back(std::move(r));
  }

  /// Finds the route for a method and path. HEAD falls back to GET.
  match find(std::string_view method, std::string_view path) const {
    match m;
    auto segs = split(path);
    for (const auto& r : routes_) {
      path_params params;
      if (!matches(r.segments, segs, params))
        continue;
      add_allowed(m.allowed, r.method);
      if (r.method == "GET")
        add_allowed(m.allowed, "HEAD");
      if (m.result != outcome::found
          && (r.method == method
              || (method == "HEAD" && r.method == "GET"
                  && !has_route("HEAD", segs)))) {
        m.result = outcome::found;
        m.hit = &r;
        m.params = std::move(params);
      }
    }
    if (m.result != outcome::found && !m.allowed.empty())
      m.result = outcome::method_not_allowed;
    return m;
  }

  const std::vector<route>& routes() const { return routes_; }

private:
  static std::vector<std::string> split(std::string_view path) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < path.size()) {
      while (i < path.size() && path[i] == '/')
        ++i;
      auto j = path.find('/', i);
      if (j == std::string_view::npos)
        j = path.size();
      if (j > i)
        out.emplace_back(path.substr(i, j - i));
      i = j;
    }
    // A trailing slash is a different resource: keep it visible.
    if (path.size() > 1 && path.back() == '/')
      out.emplace_back("");
    return out;
  }

  static bool matches(const std::vector<std::string>& pattern,
                      const std::vector<std::string>& segs,
                      path_params& params) {
    if (pattern.size() != segs.size())
      return false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      const auto& p = pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (segs[i].empty())
          return false;
        params[p.substr(1, p.size() - 2)] = segs[i];
      } else if (p != segs[i]) {
        return false;
      }
    }
    return true;
  }

  bool has_route(std::string_view method,
                 const std::vector<std::string>& segs) const {
    for (const auto& r : routes_) {
      path_params ignored;
      if (r.method == method && matches(r.segments, segs, ignored))
        return true;
    }
    return false;
  }

  static void add_allowed(std::vector<std::string>& xs, const std::string& m) {
    for (const auto& x : xs)
      if (x == m)
        return;
    xs.push_back(m);
  }

  std::vector<route> routes_;
};

} // namespace authsvc::http
