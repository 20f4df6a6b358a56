#include "mail/smtp_transport.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>

#include <curl/curl.h>

namespace authsvc::mail {

namespace {

/// The message being uploaded and how far curl has read it.
struct upload_state {
  const std::string* data;
  std::size_t offset = 0;
};

std::size_t read_body(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* st = static_cast<upload_state*>(user);
  auto left = st->data->size() - st->offset;
  auto count = std::min(left, size * n);
  std::memcpy(buf, st->data->data() + st->offset, count);
  st->offset += count;
  return count;
}

/// Remembers the relay's last error reply (4xx/5xx), because curl's error
/// text only carries the code ("RCPT failed: 550"), and because after a
/// failure curl sends QUIT, so CURLINFO_RESPONSE_CODE may end up holding the
/// 221 goodbye (or a 334 AUTH challenge) instead of the code that mattered.
int on_debug(CURL*, curl_infotype type, char* data, std::size_t size,
             void* user) {
  if (type != CURLINFO_HEADER_IN || size < 3
      || (data[0] != '4' && data[0] != '5')
      || !std::isdigit(static_cast<unsigned char>(data[1]))
      || !std::isdigit(static_cast<unsigned char>(data[2])))
    return 0;
  auto* last = static_cast<std::string*>(user);
  last->assign(data, size);
  while (!last->empty() && (last->back() == '\n' || last->back() == '\r'))
    last->pop_back();
  return 0;
}

struct easy_deleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct slist_deleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

bool is_host(std::string_view h) {
  if (h.empty() || h.size() > 253)
    return false;
  for (char c : h)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-'
        && c != ':')
      return false;
  return true;
}

} // namespace

std::optional<smtp_security> parse_smtp_security(std::string_view text) {
  if (text == "starttls")
    return smtp_security::starttls;
  if (text == "tls")
    return smtp_security::tls;
  if (text == "none")
    return smtp_security::none;
  return std::nullopt;
}

smtp_transport::smtp_transport(smtp_config config)
    : config_(std::move(config)) {
  // curl_global_init is not thread-safe on every build, so run it once here,
  // before any worker thread sends.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::uint16_t port = config_.port;
  if (port == 0)
    port = config_.security == smtp_security::tls        ? 465
           : config_.security == smtp_security::starttls ? 587
                                                         : 25;
  auto host = config_.host;
  if (host.find(':') != std::string::npos)
    host = "[" + host + "]"; // an IPv6 literal
  url_ = (config_.security == smtp_security::tls ? "smtps://" : "smtp://")
         + host + ":" + std::to_string(port);
  if (!config_.helo_name.empty())
    url_ += "/" + config_.helo_name;
}

send_result smtp_transport::send(const envelope& env,
                                 const std::string& message) {
  send_result r;
  r.location = url_;
  if (auto problem = check_envelope(env); !problem.empty()) {
    r.status = send_status::permanent_failure;
    r.error = problem;
    return r;
  }
  if (!is_host(config_.host)
      || (!config_.helo_name.empty() && !is_host(config_.helo_name))) {
    r.status = send_status::temporary_failure;
    r.error = "smtp host or helo name is not a host name";
    return r;
  }
  std::unique_ptr<CURL, easy_deleter> h{curl_easy_init()};
  if (!h) {
    r.status = send_status::temporary_failure;
    r.error = "curl_easy_init failed";
    return r;
  }
  CURL* c = h.get();
  std::unique_ptr<curl_slist, slist_deleter> rcpts;
  for (const auto& to : env.recipients) {
    auto* next = curl_slist_append(rcpts.get(), ("<" + to + ">").c_str());
    if (!next) {
      r.status = send_status::temporary_failure;
      r.error = "out of memory";
      return r;
    }
    rcpts.release();
    rcpts.reset(next);
  }
  upload_state upload{&message};
  std::string last_reply; // the last 4xx/5xx line, see on_debug
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // No signals: we run on worker threads, and SIGALRM-based DNS timeouts
  // are not thread-safe.
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(config_.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(config_.timeout.count()));
  // curl 7.88 (Debian 12) does not apply CURLOPT_TIMEOUT_MS to the wait for
  // a reply in the SMTP state machine: the answer to the end of DATA is
  // awaited for its built-in 120 s response timeout whatever the total
  // timeout says (a relay that takes the message and never answers held a
  // send for two minutes; test_network_faults.py). This bounds every reply
  // wait by smtp.timeout too (whole seconds, rounded up; _MS is curl 8.6+).
  curl_easy_setopt(
      c, CURLOPT_SERVER_RESPONSE_TIMEOUT,
      static_cast<long>(std::max<long long>(
          1, (static_cast<long long>(config_.timeout.count()) + 999) / 1000)));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); // feeds on_debug; prints nothing
  curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt(c, CURLOPT_DEBUGDATA, &last_reply);

  switch (config_.security) {
  case smtp_security::starttls:
    // CURLUSESSL_ALL: fail rather than fall back to plain text when the
    // relay does not offer STARTTLS.
    curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    break;
  case smtp_security::tls:
    break; // smtps:// is TLS from the start
  case smtp_security::none:
    curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE));
    break;
  }
  curl_easy_setopt(c, CURLOPT_SSLVERSION,
                   static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!config_.ca_file.empty())
    curl_easy_setopt(c, CURLOPT_CAINFO, config_.ca_file.c_str());
  if (!config_.pinned_public_key.empty()) {
    // The pin is the whole trust decision, so chain and name checks are off.
    curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY,
                     config_.pinned_public_key.c_str());
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!config_.username.empty() || !config_.password.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, config_.password.c_str());
  }
  auto mail_from = "<" + env.mail_from + ">";
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts.get());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                   static_cast<curl_off_t>(message.size()));

  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (rc != CURLE_OK && !last_reply.empty())
    code = std::stol(last_reply.substr(0, 3));
  r.smtp_code = static_cast<int>(code);
  if (rc == CURLE_OK) {
    r.status = send_status::ok;
    return r;
  }
  r.error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
  if (!last_reply.empty())
    r.error += " (relay said: " + last_reply + ")";
  // curl reports a refused MAIL FROM, RCPT TO or DATA as CURLE_SEND_ERROR and
  // a refused end of data as CURLE_WEIRD_SERVER_REPLY; only those 5xx are
  // about this message. A 5xx elsewhere (AUTH, STARTTLS, EHLO) is about the
  // relay setup and must not drop mail that would go through once fixed.
  // 530/534/535/538 (RFC 4954) mean our credentials or TLS settings are
  // wrong, even when they come as the answer to MAIL FROM.
  bool auth_problem = code == 530 || code == 534 || code == 535 || code == 538;
  bool message_refused
      = (rc == CURLE_SEND_ERROR || rc == CURLE_WEIRD_SERVER_REPLY)
        && !auth_problem;
  r.status = code >= 500 && code < 600 && message_refused
                 ? send_status::permanent_failure
                 : send_status::temporary_failure;
  return r;
}

} // namespace authsvc::mail
