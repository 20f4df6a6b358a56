#include "actors/redis_connection.hpp"

#include <hiredis/hiredis.h>

#include <memory>

namespace authsvc {

namespace {

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

/// One command from its arguments (binary-safe: a key is never parsed).
reply_ptr command(redisContext* ctx, const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  return reply_ptr(static_cast<redisReply*>(redisCommandArgv(
      ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data())));
}

std::string io_failure(redisContext* ctx) {
  // hiredis reports a read that hit the timeout as an I/O error with EAGAIN
  // ("Resource temporarily unavailable").
  return std::string("io: ") + (ctx && ctx->errstr[0] ? ctx->errstr : "?");
}

bool is_error(const reply_ptr& r) {
  return r && r->type == REDIS_REPLY_ERROR;
}

std::string error_text(const reply_ptr& r) {
  return std::string(r->str, r->len);
}

} // namespace

redis_connection::redis_connection(auth::redis_endpoint endpoint,
                                   std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), timeout_(timeout) {
  // nop: connects on first use
}

redis_connection::~redis_connection() {
  drop();
}

void redis_connection::drop() {
  if (ctx_ != nullptr)
    redisFree(ctx_);
  ctx_ = nullptr;
}

std::string redis_connection::connect() {
  drop();
  auto tv = to_timeval(timeout_);
  ctx_ = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, tv);
  if (ctx_ == nullptr)
    return "connect: out of memory";
  if (ctx_->err != 0) {
    auto why = "connect: " + std::string(ctx_->errstr);
    drop();
    return why;
  }
  redisSetTimeout(ctx_, tv);
  redisEnableKeepAlive(ctx_);
  auto run = [this](std::vector<std::string> argv) -> std::string {
    auto r = command(ctx_, argv);
    if (!r) {
      auto why = io_failure(ctx_);
      drop();
      return why;
    }
    if (is_error(r)) {
      // Never the password: only Redis's words (e.g. WRONGPASS ...).
      auto why = argv.front() + ": " + error_text(r);
      drop();
      return why;
    }
    return {};
  };
  if (!endpoint_.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!endpoint_.username.empty())
      auth.push_back(endpoint_.username);
    auth.push_back(endpoint_.password);
    if (auto why = run(std::move(auth)); !why.empty())
      return why;
  }
  if (endpoint_.db != 0)
    if (auto why = run({"SELECT", std::to_string(endpoint_.db)}); !why.empty())
      return why;
  return load_script();
}

std::string redis_connection::load_script() {
  auto r = command(ctx_,
                   {"SCRIPT", "LOAD", std::string(auth::redis_gcra_script())});
  if (!r) {
    auto why = io_failure(ctx_);
    drop();
    return why;
  }
  if (r->type != REDIS_REPLY_STRING) {
    auto why = is_error(r) ? "SCRIPT LOAD: " + error_text(r)
                           : std::string("SCRIPT LOAD: unexpected reply");
    drop();
    return why;
  }
  sha_.assign(r->str, r->len);
  return {};
}

redis_connection::outcome
redis_connection::eval_gcra(const auth::redis_gcra_call& call) {
  outcome out;
  if (ctx_ == nullptr)
    if (out.failure = connect(); !out.failure.empty())
      return out;
  std::vector<std::string> argv{"EVALSHA", sha_,
                                std::to_string(call.keys.size())};
  argv.insert(argv.end(), call.keys.begin(), call.keys.end());
  argv.insert(argv.end(), call.args.begin(), call.args.end());
  auto r = command(ctx_, argv);
  // A Redis restarted (or SCRIPT FLUSHed) under us forgot the script: load
  // it once more and retry.
  if (is_error(r) && error_text(r).rfind("NOSCRIPT", 0) == 0) {
    if (out.failure = load_script(); !out.failure.empty())
      return out;
    argv[1] = sha_;
    r = command(ctx_, argv);
  }
  if (!r) {
    out.failure = io_failure(ctx_);
    drop();
    return out;
  }
  if (r->type != REDIS_REPLY_ARRAY) {
    out.failure = is_error(r) ? "EVALSHA: " + error_text(r)
                              : std::string("EVALSHA: unexpected reply");
    return out;
  }
  for (std::size_t i = 0; i < r->elements; ++i) {
    const auto* e = r->element[i];
    if (e->type != REDIS_REPLY_INTEGER) {
      out.values.clear();
      out.failure = "EVALSHA: unexpected reply";
      return out;
    }
    out.values.push_back(e->integer);
  }
  return out;
}

} // namespace authsvc
