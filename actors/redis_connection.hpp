#pragma once
// One blocking hiredis connection for the shared per-IP limits (issue 14),
// owned by the redis limiter actor on its own thread. Every wait is bounded
// by one timeout (connect, send, reply), so a dead or stalled Redis costs at
// most that per call; a failed connection is dropped and made again on the
// next call. hiredis (Debian's libhiredis-dev) rather than our own RESP
// code: it is the reference client, small, and packaged.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "auth/redis_gcra.hpp"
#include "auth/redis_url.hpp"

struct redisContext;

namespace authsvc {

class redis_connection {
public:
  redis_connection(auth::redis_endpoint endpoint,
                   std::chrono::milliseconds timeout);
  ~redis_connection();

  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  /// The script's integers, or why there are none.
  struct outcome {
    std::vector<std::int64_t> values;
    std::string failure; ///< empty on success
  };

  /// Runs auth::redis_gcra_script with `call` (EVALSHA; the script is
  /// loaded when the connection is made, and again if Redis lost it).
  /// Connects first when not connected.
  outcome eval_gcra(const auth::redis_gcra_call& call);

  bool connected() const noexcept { return ctx_ != nullptr; }

  /// (Re)connects, authenticates, selects the database and loads the
  /// script.
  /// @returns the failure, empty when connected
  std::string connect();

private:
  /// Loads the script into Redis and keeps its SHA-1.
  std::string load_script();

  /// Frees the context: after an I/O error hiredis cannot use it again.
  void drop();

  auth::redis_endpoint endpoint_;
  std::chrono::milliseconds timeout_;
  redisContext* ctx_ = nullptr;
  std::string sha_;
};

} // namespace authsvc
