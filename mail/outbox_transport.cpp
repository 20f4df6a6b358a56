#include "mail/outbox_transport.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "auth/crypto.hpp"
#include "auth/encoding.hpp"

namespace authsvc::mail {

namespace {

namespace fs = std::filesystem;

send_result temporary(std::string what, int err) {
  send_result r;
  r.status = send_status::temporary_failure;
  r.error = std::move(what) + ": " + std::strerror(err);
  return r;
}

bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

} // namespace

outbox_transport::outbox_transport(std::string dir) : dir_(std::move(dir)) {
  // Sign-in links and codes sit in these files until someone collects them:
  // a folder or file an older version (or a umask) left readable is made
  // owner-only. Links are skipped, so the chmod cannot be aimed elsewhere.
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir_, ec)))
    return;
  ::chmod(dir_.c_str(), 0700);
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end;
       it.increment(ec))
    if (it->symlink_status(ec).type() == fs::file_type::regular)
      ::chmod(it->path().c_str(), 0600);
}

std::string outbox_transport::path_for(std::string_view message_id) const {
  std::string_view id = message_id;
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>')
    id = id.substr(1, id.size() - 2);
  std::string name;
  for (char c : id.substr(0, 100)) {
    bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.'
                || c == '_' || c == '@' || c == '+' || c == '-';
    name += keep ? c : '_';
  }
  if (name.empty() || name.front() == '.')
    name.insert(0, "_");
  // The hash keeps "<a/b@x>" and "<a_b@x>" apart after sanitizing, and makes
  // the name depend on the whole id even when it was cut at 100 characters.
  name += '-';
  name += auth::hex_encode(auth::sha256(message_id)).substr(0, 12);
  return (fs::path(dir_) / (name + ".eml")).string();
}

send_result outbox_transport::send(const envelope& env,
                                   const std::string& message) {
  if (auto problem = check_envelope(env); !problem.empty()) {
    send_result r;
    r.status = send_status::permanent_failure;
    r.error = problem;
    return r;
  }
  if (env.message_id.empty()) {
    send_result r;
    r.status = send_status::permanent_failure;
    r.error = "envelope has no message id to name the file after";
    return r;
  }
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) {
    fs::create_directories(dir_, ec);
    if (ec)
      return temporary("cannot create outbox " + dir_, ec.value());
    fs::permissions(dir_, fs::perms::owner_all, ec);
  }
  auto path = path_for(env.message_id);
  // The temporary file lives in the same folder so that rename() is atomic;
  // its leading dot keeps pickers that skip dot-files away from it.
  auto tmp = (fs::path(dir_)
              / ("." + fs::path(path).filename().string() + "."
                 + auth::random_token(6) + ".tmp"))
                 .string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return temporary("cannot create " + tmp, errno);
  bool written = write_all(fd, message) && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && written) {
    written = false;
    err = errno;
  }
  if (!written) {
    ::unlink(tmp.c_str());
    return temporary("cannot write " + tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    return temporary("cannot rename to " + path, err);
  }
  // Persist the rename itself: without syncing the folder a crash could lose
  // a file we already reported as delivered.
  int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  send_result r;
  r.location = path;
  return r;
}

} // namespace authsvc::mail
