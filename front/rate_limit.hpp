#pragma once
// Rate limiting on the request path: the front actor wraps every routed
// request in with_ip_limits (one message to the rate limiter actor), and a
// handler that learns an identifier (email/start: the normalised address)
// wraps its work in with_identifier_limit. Over a limit: 429 rate_limited
// with Retry-After and RateLimit-* headers, rate_limit_hits_total{type} and
// a rate_limit.exceeded audit event (at most one per key and minute).
#include <functional>
#include <string>

#include "front/http_front.hpp"

namespace authsvc {

/// The limiter key of this request's client (IPv4 as is, IPv6 by /64).
std::string client_rate_key(const context_ptr& ctx);

/// Answers 429 for a rejecting verdict; counts and (when due) audits it.
void reply_rate_limited(const context_ptr& ctx, const rate_verdict& v);

/// Puts RateLimit-* headers of an allowed verdict on the eventual response.
void add_rate_headers(const context_ptr& ctx, const rate_verdict& v);

/// Checks the global per-IP ceiling and the per-IP limit of `route_class`
/// (nullptr: global only), then runs `next`. Disabled limits cost nothing.
/// Without a verdict in `rate_limit.timeout` (or from a failed limiter) the
/// request goes on or gets 503 as `rate_limit.on_timeout` says for its
/// class (default: closed for the sign-in classes, open for the rest).
void with_ip_limits(const context_ptr& ctx, const char* route_class,
                    const std::function<void()>& next);

/// Checks the per-identifier limit of `route_class` (e.g. "email_send" by
/// normalised address), then runs `next`.
void with_identifier_limit(const context_ptr& ctx, const char* route_class,
                           std::string identifier,
                           const std::function<void()>& next);

} // namespace authsvc
