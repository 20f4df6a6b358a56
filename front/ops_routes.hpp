#pragma once
// Operations routes (unversioned): health, liveness, readiness, metrics.
#include "front/http_front.hpp"

namespace authsvc::http_routes {

/// Handles GET /health: every check, 503 "degraded" when one fails.
void health(const context_ptr& ctx);

/// Handles GET /liveness: answers while the process can serve.
void liveness(const context_ptr& ctx);

/// Handles GET /readiness: 200 once migrations ran and the DB answers.
void readiness(const context_ptr& ctx);

/// Handles GET /metrics: Prometheus text 0.0.4, optionally behind a token.
void metrics(const context_ptr& ctx);

} // namespace authsvc::http_routes
