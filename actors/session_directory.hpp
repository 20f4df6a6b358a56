#pragma once
// The session actor's read view for the HTTP fronts (issue 13): the live
// sessions and the access tokens whose signature already checked out, so a
// front answers a valid token without a message to the session actor.
//
// Only the session actor writes it, and it writes before it acknowledges:
// a revocation (logout, logout everywhere, admin revoke, disable, delete,
// refresh-reuse family revocation, eviction, idle timeout, expiry purge)
// erases the session here in the same handler that forgets it, before any
// answer leaves the actor, so the next check on any connection misses.
// A front that misses (unknown token, session not here, expired, idle)
// asks the session actor, which stays the authority: the view only ever
// answers the positive case the actor would answer too.
//
// Why not one immutable snapshot swapped atomically: every sign-in and
// refresh changes the set, and a copy per change is O(sessions) (1M
// sessions at 2k sign-ins/s is out). Instead each entry is immutable and
// replaced whole under its shard's mutex: readers copy a shared_ptr out of
// a hash lookup (uncontended on small machines, 16 shards on larger).
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/messages.hpp"

namespace authsvc {

class session_directory {
public:
  /// An access token whose signature and claims checked out.
  struct token {
    std::string user_id;
    std::string session_id;
    std::int64_t issued_at = 0;
    std::int64_t expires_at = 0;
    std::string jti;
    std::int64_t auth_time = 0;
  };

  /// What a token check needs of a live session.
  struct session {
    std::string user_id;
    std::vector<std::string> amr;
    std::int64_t created_at = 0;
    std::int64_t expires_at = 0;
    std::int64_t absolute_expires_at = 0;
    /// Start of its idle time (auth.session_idle_timeout).
    std::int64_t refreshed_at = 0;
    user_info user;
    /// The OAuth client the session was issued to (issue 16; empty: ours)
    /// and its scope: a check answers them as the session actor's verify
    /// does, so every reader applies the same audience rule.
    std::string client_id;
    std::string scope;
    /// The last check that found it live; the one field a reader writes
    /// (the session actor reads it for session lists).
    mutable std::atomic<std::int64_t> last_seen{0};
  };

  using token_ptr = std::shared_ptr<const token>;
  using session_ptr = std::shared_ptr<const session>;

  /// Tokens kept at most (then the token cache starts over, as the
  /// session actor's own does).
  static constexpr std::size_t max_tokens = 100'000;

  // -- reads (any thread) -----------------------------------------------------

  /// The check a front makes: the auth context of `bearer` at `now` when
  /// its token was verified before and its session is live and not idle
  /// for `idle_timeout` seconds (0 = no idle limit); nullopt otherwise
  /// (the caller then asks the session actor). Marks the session seen.
  std::optional<auth_context> check(std::string_view bearer, std::int64_t now,
                                    std::int64_t idle_timeout) const;

  session_ptr find_session(const std::string& id) const;

  std::size_t session_count() const;

  // -- writes (the session actor) ---------------------------------------------

  void put_token(const std::string& digest, token t);
  void clear_tokens();
  void put_session(const std::string& id, session_ptr s);
  void erase_session(const std::string& id);
  void clear();

private:
  static constexpr std::size_t shard_count = 16;

  template <class V>
  struct shard {
    mutable std::mutex m;
    std::unordered_map<std::string, V> map;
  };

  static std::size_t shard_of(std::string_view key);

  std::array<shard<token_ptr>, shard_count> tokens_;
  std::array<shard<session_ptr>, shard_count> sessions_;
};

using session_directory_ptr = std::shared_ptr<session_directory>;

} // namespace authsvc
