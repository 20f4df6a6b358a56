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

outbox_transport::outbox_transport(std::string dir, std::size_t batch_limit)
    : dir_(std::move(dir)), batch_limit_(batch_limit < 1 ? 1 : batch_limit) {
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
  return send_batch({outgoing{env, message}}).front();
}

std::vector<send_result>
outbox_transport::send_batch(const std::vector<outgoing>& batch) {
  std::vector<send_result> out(batch.size());
  // A message written to its temporary file, waiting for the sync.
  struct staged {
    std::size_t index;
    int fd;
    std::string tmp;
    std::string path;
  };
  std::vector<staged> files;
  files.reserve(batch.size());
  auto fail_staged = [&](const staged& f, send_result r) {
    ::unlink(f.tmp.c_str());
    out[f.index] = std::move(r);
  };
  std::error_code ec;
  bool have_dir = fs::is_directory(dir_, ec);
  if (!have_dir) {
    fs::create_directories(dir_, ec);
    if (!ec)
      fs::permissions(dir_, fs::perms::owner_all, ec);
    have_dir = !ec;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& env = batch[i].env;
    if (auto problem = check_envelope(env); !problem.empty()) {
      out[i].status = send_status::permanent_failure;
      out[i].error = problem;
      continue;
    }
    if (env.message_id.empty()) {
      out[i].status = send_status::permanent_failure;
      out[i].error = "envelope has no message id to name the file after";
      continue;
    }
    if (!have_dir) {
      out[i] = temporary("cannot create outbox " + dir_, ec.value());
      continue;
    }
    auto path = path_for(env.message_id);
    // The temporary file lives in the same folder so that rename() is
    // atomic; its leading dot keeps pickers that skip dot-files away from it.
    auto tmp = (fs::path(dir_)
                / ("." + fs::path(path).filename().string() + "."
                   + auth::random_token(6) + ".tmp"))
                   .string();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      out[i] = temporary("cannot create " + tmp, errno);
      continue;
    }
    if (!write_all(fd, batch[i].message)) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      out[i] = temporary("cannot write " + tmp, err);
      continue;
    }
    files.push_back({i, fd, std::move(tmp), std::move(path)});
  }
  if (files.empty())
    return out;
  // One message: fsync its file. Several: one syncfs(2) writes back every
  // file of the file system at once, so the batch pays for one journal
  // commit. Since Linux 5.8 syncfs reports write-back errors of files open
  // on that file system (ours are); close() then reports any left.
  int sync_err = 0;
  if (files.size() == 1) {
    if (::fsync(files.front().fd) != 0)
      sync_err = errno;
  } else if (::syncfs(files.front().fd) != 0) {
    sync_err = errno;
  }
  std::vector<staged> synced;
  synced.reserve(files.size());
  for (auto& f : files) {
    int err = sync_err;
    if (::close(f.fd) != 0 && err == 0)
      err = errno;
    if (err != 0)
      fail_staged(f, temporary("cannot write " + f.tmp, err));
    else
      synced.push_back(std::move(f));
  }
  bool renamed_any = false;
  for (auto& f : synced) {
    if (::rename(f.tmp.c_str(), f.path.c_str()) != 0) {
      fail_staged(f, temporary("cannot rename to " + f.path, errno));
      continue;
    }
    renamed_any = true;
    out[f.index].location = f.path;
  }
  // Persist the renames themselves: without syncing the folder a crash
  // could lose a file we already reported as delivered.
  if (renamed_any) {
    int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  return out;
}

} // namespace authsvc::mail
