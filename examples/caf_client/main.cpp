// caf_client: a small client of the passwordless-auth CAF API. It is built
// against include/passwordless/auth_api.hpp and CAF only.
//
//   caf_client [--host H] [--port P] [--cert F --key F --ca F] [--timeout S]
//              COMMAND ...
//   commands: hello | verify TOKEN [--repeat N] | session ID
//             | revoke [--session ID] [--user ID] | user (--id ID | --email E)
//             | email-start ADDRESS | subscribe [--count N] [--seconds S]
//
// Every answer is printed as one JSON object per line on stdout. Exit
// codes: 0 success, 1 the service answered with an error code, 2 usage,
// 3 cannot connect / interface or version mismatch / timeout.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <passwordless/auth_api.hpp>

namespace api = passwordless::api;

namespace {

// -- JSON output
// ----------------------------------------------------------------

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  return out + "\"";
}

std::string quote(const std::vector<std::string>& xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i)
    out += (i ? "," : "") + quote(xs[i]);
  return out + "]";
}

/// Builds one JSON object from already-encoded values.
class object {
public:
  object& add(const std::string& k, const std::string& v) {
    return raw(k, quote(v));
  }
  object& add(const std::string& k, const char* v) { return raw(k, quote(v)); }
  object& add(const std::string& k, const std::vector<std::string>& v) {
    return raw(k, quote(v));
  }
  object& add(const std::string& k, std::int64_t v) {
    return raw(k, std::to_string(v));
  }
  object& add(const std::string& k, bool v) {
    return raw(k, v ? "true" : "false");
  }
  object& raw(const std::string& k, const std::string& v) {
    body_ += (body_.empty() ? "" : ",") + quote(k) + ":" + v;
    return *this;
  }
  std::string str() const { return "{" + body_ + "}"; }

private:
  std::string body_;
};

// The event sink runs on a CAF worker thread while main prints too; one
// lock keeps every JSON object on its own line.
void print_line(const std::string& line) {
  static std::mutex stdout_mutex;
  std::lock_guard<std::mutex> guard{stdout_mutex};
  std::cout << line << std::endl; // flushes: tests read line by line
}

void print(const object& o) {
  print_line(o.str());
}

std::string user_json(const api::user_record& u) {
  return object()
      .add("id", u.id)
      .add("email", u.email)
      .add("display_name", u.display_name)
      .add("locale", u.locale)
      .add("created_at", u.created_at)
      .add("disabled", u.disabled)
      .str();
}

// -- arguments
// ----------------------------------------------------------------------

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 4242;
  std::string cert, key, ca;
  double timeout = 10;
  std::uint32_t claim_version = api::interface_version;
  std::string command;
  std::vector<std::string> args;            ///< positional
  std::map<std::string, std::string> flags; ///< --name value after the command
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr
      << "caf_client: " << why << "\n"
      << "usage: caf_client [--host H] [--port P] [--cert F --key F --ca F]"
         " [--timeout S] COMMAND ...\n"
         "  hello | verify TOKEN | session ID | revoke [--session ID] [--user "
         "ID]\n"
         "  | user (--id ID | --email E) | email-start ADDRESS\n"
         "  | subscribe [--count N] [--seconds S]\n";
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(a + " needs a value");
      return argv[++i];
    };
    if (a.rfind("--", 0) == 0) {
      if (a == "--host")
        o.host = value();
      else if (a == "--port")
        o.port = static_cast<std::uint16_t>(std::stoi(value()));
      else if (a == "--cert")
        o.cert = value();
      else if (a == "--key")
        o.key = value();
      else if (a == "--ca")
        o.ca = value();
      else if (a == "--timeout")
        o.timeout = std::stod(value());
      // Claims another interface version in hello (to see the refusal).
      else if (a == "--claim-version")
        o.claim_version = static_cast<std::uint32_t>(std::stoul(value()));
      else if (!o.command.empty())
        o.flags[a.substr(2)] = value();
      else
        usage("unknown option " + a);
    } else if (o.command.empty()) {
      o.command = a;
    } else {
      o.args.push_back(a);
    }
  }
  if (o.command.empty())
    usage("no command");
  bool any_tls = !o.cert.empty() || !o.key.empty() || !o.ca.empty();
  if (any_tls && (o.cert.empty() || o.key.empty() || o.ca.empty()))
    usage("TLS needs --cert, --key and --ca together");
  return o;
}

std::string flag(const options& o, const std::string& name) {
  auto i = o.flags.find(name);
  return i == o.flags.end() ? std::string{} : i->second;
}

// -- the calls
// ------------------------------------------------------------------------

/// Sends one request and waits for its reply (or a transport error).
template <class Reply, class... Ts>
int call(caf::scoped_actor& self, const api::auth_service& svc,
         const options& o, Reply& out, Ts&&... xs) {
  int rc = 0;
  self->request(svc,
                std::chrono::milliseconds(static_cast<long>(o.timeout * 1000)),
                std::forward<Ts>(xs)...)
      .receive([&](Reply& r) { out = std::move(r); },
               [&](caf::error& e) {
                 std::cerr << "caf_client: call failed: "
                           << self->system().render(e) << "\n";
                 rc = 3;
               });
  return rc;
}

int report_error(const std::string& code,
                 const std::vector<std::string>& details = {}) {
  object e;
  e.add("error", code);
  if (!details.empty())
    e.add("details", details);
  print(e);
  return 1;
}

int run_subscribe(caf::actor_system& sys, caf::scoped_actor& self,
                  const api::auth_service& svc, const options& o) {
  auto count = flag(o, "count").empty() ? 0L : std::stol(flag(o, "count"));
  auto seconds
      = flag(o, "seconds").empty() ? 30.0 : std::stod(flag(o, "seconds"));
  struct shared {
    std::mutex mx;
    std::condition_variable cv;
    long seen = 0;
  };
  auto sh = std::make_shared<shared>();
  // The unused int keeps CAF 0.17 from dereferencing an empty argument
  // tuple at spawn (undefined behaviour that UBSan reports).
  auto sink = sys.spawn(
      [sh, count](api::audit_sink::pointer,
                  int) -> api::audit_sink::behavior_type {
        return {
            [sh, count](api::audit_record& r) -> bool {
              print(object()
                        .add("event", r.type)
                        .add("created_at", r.created_at)
                        .add("user_id", r.user_id)
                        .add("email", r.email)
                        .add("ip", r.ip)
                        .add("actor", r.actor)
                        .add("success", r.success)
                        .raw("metadata", r.metadata.empty() ? "{}" : r.metadata)
                        .add("dropped_before", r.dropped_before));
              std::lock_guard<std::mutex> g{sh->mx};
              ++sh->seen;
              sh->cv.notify_all();
              return true;
            },
        };
      },
      0);
  api::subscribe_reply r;
  if (auto rc = call(self, svc, o, r, api::subscribe_atom::value, sink);
      rc != 0)
    return rc;
  if (!r.error.empty())
    return report_error(r.error);
  print(object().add("subscribed", true));
  {
    std::unique_lock<std::mutex> g{sh->mx};
    sh->cv.wait_for(
        g, std::chrono::milliseconds(static_cast<long>(seconds * 1000)),
        [&] { return count > 0 && sh->seen >= count; });
  }
  api::subscribe_reply u;
  auto rc = call(self, svc, o, u, api::unsubscribe_atom::value, sink);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  if (rc != 0)
    return rc;
  print(object().add("unsubscribed", u.error.empty()));
  return 0;
}

int run(caf::actor_system& sys, const options& o) {
  bool tls = !o.cert.empty();
  auto svc
      = tls ? caf::openssl::remote_actor<api::auth_service>(sys, o.host, o.port)
            : sys.middleman().remote_actor<api::auth_service>(o.host, o.port);
  if (!svc) {
    std::cerr << "caf_client: " << api::describe_connect_error(svc.error())
              << "\n";
    return 3;
  }
  caf::scoped_actor self{sys};
  // Version check first, so a mismatch is one clear message.
  api::hello_reply hello;
  if (auto rc
      = call(self, *svc, o, hello, api::hello_atom::value, o.claim_version);
      rc != 0)
    return rc;
  if (hello.error == "version_mismatch") {
    std::cerr
        << "caf_client: version mismatch: the service speaks passwordless "
           "API v"
        << hello.version << ", this client v" << o.claim_version << "\n";
    report_error(hello.error);
    return 3;
  }
  if (!hello.error.empty())
    return report_error(hello.error);
  const auto& cmd = o.command;
  auto need_arg = [&] {
    if (o.args.size() != 1)
      usage(cmd + " needs one argument");
    return o.args[0];
  };
  if (cmd == "hello") {
    print(object()
              .add("version", std::int64_t{hello.version})
              .add("service_version", hello.service_version)
              .add("peer", hello.peer));
    return 0;
  }
  if (cmd == "verify") {
    // --repeat N: N calls on this connection (one line each; for testing
    // the per-node rate limit).
    auto repeat = flag(o, "repeat").empty() ? 1L : std::stol(flag(o, "repeat"));
    api::verify_reply r;
    for (long i = 1; i < repeat; ++i) {
      if (auto rc = call(self, *svc, o, r, api::verify_atom::value, need_arg());
          rc != 0)
        return rc;
      print(object().add("error", r.error));
    }
    if (auto rc = call(self, *svc, o, r, api::verify_atom::value, need_arg());
        rc != 0)
      return rc;
    if (!r.error.empty())
      return report_error(r.error);
    const auto& c = r.claims;
    print(object()
              .add("sub", c.user_id)
              .add("sid", c.session_id)
              .add("amr", c.amr)
              .add("iat", c.issued_at)
              .add("exp", c.expires_at)
              .add("jti", c.jti)
              .add("session_created_at", c.session_created_at)
              .add("session_expires_at", c.session_expires_at)
              .raw("user", user_json(c.user)));
    return 0;
  }
  if (cmd == "session") {
    api::session_reply r;
    if (auto rc = call(self, *svc, o, r, api::session_atom::value, need_arg());
        rc != 0)
      return rc;
    if (!r.error.empty())
      return report_error(r.error);
    print(object()
              .add("live", r.live)
              .add("user_id", r.user_id)
              .add("amr", r.amr)
              .add("created_at", r.created_at)
              .add("last_seen_at", r.last_seen_at)
              .add("expires_at", r.expires_at));
    return 0;
  }
  if (cmd == "revoke") {
    api::revoke_request req{flag(o, "session"), flag(o, "user"), "caf_client"};
    api::revoke_reply r;
    if (auto rc = call(self, *svc, o, r, api::revoke_atom::value, req); rc != 0)
      return rc;
    if (!r.error.empty())
      return report_error(r.error);
    print(object().add("revoked", std::int64_t{r.revoked}));
    return 0;
  }
  if (cmd == "user") {
    api::user_query q{flag(o, "id"), flag(o, "email")};
    api::user_reply r;
    if (auto rc = call(self, *svc, o, r, api::user_atom::value, q); rc != 0)
      return rc;
    if (!r.error.empty())
      return report_error(r.error);
    print_line(user_json(r.user));
    return 0;
  }
  if (cmd == "email-start") {
    api::email_start_request req;
    req.email = need_arg();
    req.redirect_to = flag(o, "redirect-to");
    req.locale = flag(o, "locale");
    req.ip = flag(o, "ip");
    req.user_agent = flag(o, "user-agent");
    api::email_start_reply r;
    if (auto rc = call(self, *svc, o, r, api::email_atom::value, req); rc != 0)
      return rc;
    if (!r.error.empty())
      return report_error(r.error, r.details);
    print(object()
              .add("flow_id", r.flow_id)
              .add("flow_secret", r.flow_secret)
              .add("expires_in", r.expires_in));
    return 0;
  }
  if (cmd == "subscribe")
    return run_subscribe(sys, self, *svc, o);
  usage("unknown command " + cmd);
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  // remote_actor has no timeout of its own (a peer that accepts TCP and
  // never completes the handshake would block forever): bound the run.
  std::thread([limit = o.timeout * 3 + 5] {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(static_cast<long>(limit * 1000)));
    std::cerr << "caf_client: timed out\n";
    std::_Exit(3);
  }).detach();
  caf::actor_system_config cfg;
  api::register_types(cfg);
  cfg.load<caf::io::middleman>();
  if (!o.cert.empty()) {
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = o.cert;
    cfg.openssl_key = o.key;
    cfg.openssl_cafile = o.ca;
  }
  int rc;
  {
    caf::actor_system sys{cfg};
    rc = run(sys, o);
  }
  return rc;
}
