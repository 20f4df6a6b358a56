#pragma once
// Delivers mail into a folder, one .eml file per message: for development,
// tests, and operators who let another program pick mail up from disk.
#include <string>
#include <string_view>

#include "mail/transport.hpp"

namespace authsvc::mail {

/// Writes each message to `<dir>/<name from Message-ID>.eml`, atomically:
/// readers never see a half-written file, and a retried job overwrites its
/// earlier file instead of adding a second one. A file is reported written
/// only once it and its name are on disk (synced).
class outbox_transport : public transport {
public:
  // -- constructors ----------------------------------------------------------

  /// @param dir the outbox folder; created (mode 0700) on first send if
  ///        missing, since its files hold sign-in links. An existing folder
  ///        and its files are made owner-only (0700, 0600) here.
  /// @param batch_limit how many messages one `send_batch` writes with one
  ///        sync (mail.outbox_batch).
  explicit outbox_transport(std::string dir, std::size_t batch_limit = 1);

  // -- transport -------------------------------------------------------------

  /// @returns `location` = the file written. File-system errors are temporary
  ///          (an operator can free space or fix permissions); a bad envelope
  ///          is permanent.
  send_result send(const envelope& env, const std::string& message) override;

  /// Writes every message to a temporary file, syncs them all with one
  /// syncfs(2), renames them into place and syncs the folder once: two
  /// syncs per batch instead of two per message (each is a journal commit,
  /// ~3.5 ms on this machine's ext4). A message that fails is reported on
  /// its own; the others still go.
  std::vector<send_result>
  send_batch(const std::vector<outgoing>& batch) override;

  std::size_t batch_limit() const override { return batch_limit_; }

  // -- properties ------------------------------------------------------------

  /// The file a message with `message_id` is written to: the id without its
  /// angle brackets, characters outside [A-Za-z0-9._@+-] replaced by '_' and
  /// then a short hash of the id appended so that distinct ids never collide.
  std::string path_for(std::string_view message_id) const;

private:
  // -- member variables ------------------------------------------------------

  std::string dir_;
  std::size_t batch_limit_;
};

} // namespace authsvc::mail
