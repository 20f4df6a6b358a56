#pragma once
// Helpers for the mail tests: temporary folders, child processes (the SMTP
// sink, the Python MIME parser) and reading files back.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace authsvc::mail::test {

/// The Debian interpreter: it has aiosmtpd, the pyenv one on PATH does not.
inline const char* python() {
  return "/usr/bin/python3";
}

inline std::string tools_dir() {
  return std::string(AUTHSVC_SOURCE_DIR) + "/tests/tools";
}

/// A fresh folder under $TMPDIR, removed with everything in it at scope end.
class temp_dir {
public:
  temp_dir() {
    auto base = std::filesystem::temp_directory_path() / "authsvc-mail-XXXXXX";
    std::string tmpl = base.string();
    if (!mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

inline void write_file(const std::filesystem::path& p, const std::string& s) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

/// A child process with its stdout on a pipe. The destructor sends SIGTERM and
/// reaps it, so a failing test never leaves a sink running.
class child_process {
public:
  /// @param quiet send the child's stderr to /dev/null (the openssl CLI
  ///        chatters there even when it succeeds).
  explicit child_process(const std::vector<std::string>& argv,
                         bool quiet = false) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    if (quiet)
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null",
                                       O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc
        = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      throw std::runtime_error("cannot start " + argv[0]);
    }
    out_ = fds[0];
  }

  ~child_process() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (out_ >= 0)
      close(out_);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Reads one line of the child's stdout, or "" after `timeout`.
  std::string read_line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        auto line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return {};
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return {};
      char chunk[512];
      auto n = read(out_, chunk, sizeof chunk);
      if (n <= 0)
        return {};
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  /// Reads stdout to EOF and waits for the exit status.
  int wait_for_exit(std::string& all_output) {
    all_output = buffer_;
    char chunk[4096];
    ssize_t n;
    while ((n = read(out_, chunk, sizeof chunk)) > 0)
      all_output.append(chunk, static_cast<std::size_t>(n));
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

/// Runs a command to completion and returns its exit code and stdout.
inline int run(const std::vector<std::string>& argv, std::string& out,
               bool quiet = false) {
  child_process p(argv, quiet);
  return p.wait_for_exit(out);
}

} // namespace authsvc::mail::test
