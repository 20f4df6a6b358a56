#include "actors/session_directory.hpp"

#include <functional>

#include "auth/crypto.hpp"

namespace authsvc {

std::size_t session_directory::shard_of(std::string_view key) {
  return std::hash<std::string_view>{}(key) % shard_count;
}

std::optional<auth_context>
session_directory::check(std::string_view bearer, std::int64_t now,
                         std::int64_t idle_timeout) const {
  auto digest = auth::token_hash(bearer);
  token_ptr t;
  {
    const auto& s = tokens_[shard_of(digest)];
    std::lock_guard<std::mutex> lock{s.m};
    if (auto it = s.map.find(digest); it != s.map.end())
      t = it->second;
  }
  if (!t || t->expires_at <= now)
    return std::nullopt;
  auto live = find_session(t->session_id);
  // Anything but the plain live case is the session actor's to judge
  // (an idle session is revoked there, with its audit event).
  if (!live || live->user_id != t->user_id || live->absolute_expires_at <= now
      || (idle_timeout > 0 && now - live->refreshed_at >= idle_timeout))
    return std::nullopt;
  live->last_seen.store(now, std::memory_order_relaxed);
  auth_context a;
  a.user_id = t->user_id;
  a.session_id = t->session_id;
  a.amr = live->amr;
  a.issued_at = t->issued_at;
  a.expires_at = t->expires_at;
  a.jti = t->jti;
  a.session_created_at = live->created_at;
  a.session_expires_at = live->expires_at;
  a.user = live->user;
  a.auth_time = t->auth_time;
  a.client_id = live->client_id;
  a.scope = live->scope;
  return a;
}

session_directory::session_ptr
session_directory::find_session(const std::string& id) const {
  const auto& s = sessions_[shard_of(id)];
  std::lock_guard<std::mutex> lock{s.m};
  auto it = s.map.find(id);
  return it == s.map.end() ? nullptr : it->second;
}

std::size_t session_directory::session_count() const {
  std::size_t n = 0;
  for (const auto& s : sessions_) {
    std::lock_guard<std::mutex> lock{s.m};
    n += s.map.size();
  }
  return n;
}

void session_directory::put_token(const std::string& digest, token t) {
  auto p = std::make_shared<const token>(std::move(t));
  auto& s = tokens_[shard_of(digest)];
  std::lock_guard<std::mutex> lock{s.m};
  if (s.map.size() >= max_tokens / shard_count)
    s.map.clear();
  s.map[digest] = std::move(p);
}

void session_directory::clear_tokens() {
  for (auto& s : tokens_) {
    std::lock_guard<std::mutex> lock{s.m};
    s.map.clear();
  }
}

void session_directory::put_session(const std::string& id, session_ptr p) {
  auto& s = sessions_[shard_of(id)];
  std::lock_guard<std::mutex> lock{s.m};
  s.map[id] = std::move(p);
}

void session_directory::erase_session(const std::string& id) {
  session_ptr gone; // released outside the lock
  auto& s = sessions_[shard_of(id)];
  std::lock_guard<std::mutex> lock{s.m};
  if (auto it = s.map.find(id); it != s.map.end()) {
    gone = std::move(it->second);
    s.map.erase(it);
  }
}

void session_directory::clear() {
  clear_tokens();
  for (auto& s : sessions_) {
    std::lock_guard<std::mutex> lock{s.m};
    s.map.clear();
  }
}

} // namespace authsvc
