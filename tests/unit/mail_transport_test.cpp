#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "mail/mime.hpp"
#include "mail/outbox_transport.hpp"
#include "mail/smtp_transport.hpp"
#include "mail/template_set.hpp"
#include "mail_test_support.hpp"

using namespace authsvc::mail;
namespace fs = std::filesystem;

namespace {

/// A sign-in mail in `lang`, built as the mailer will build it.
std::string sample_message(const std::string& id, const char* lang = "de") {
  static auto set = template_set::load_embedded();
  REQUIRE(set.ok());
  nlohmann::json vars = {{"app_name", "Example"},
                         {"display_name", "Zoë <admin>"},
                         {"link", "https://auth.example.com/l?token=abc"},
                         {"code", "123456"},
                         {"lifetime_minutes", 15},
                         {"ip", "192.0.2.7"},
                         {"device", "Firefox on Linux"}};
  auto r = set->render("sign_in", lang, vars);
  REQUIRE(r.ok());
  message_fields f;
  f.from = {"Exämple", "no-reply@auth.example.com"};
  f.to = {"Zoë", "zoe@example.org"};
  f.subject = r->subject;
  f.text = r->text;
  f.html = r->html;
  f.message_id = make_message_id(id, "auth.example.com");
  f.date = std::chrono::system_clock::now();
  f.language = lang;
  auto m = build_message(f);
  REQUIRE(m.ok());
  return *m;
}

envelope sample_envelope(const std::string& id) {
  return {"bounces@auth.example.com",
          {"zoe@example.org"},
          make_message_id(id, "auth.example.com")};
}

/// A self-signed certificate for 127.0.0.1/localhost and its public key,
/// made with the openssl CLI.
struct test_cert {
  test::temp_dir dir;
  std::string cert = (dir.path() / "cert.pem").string();
  std::string key = (dir.path() / "key.pem").string();
  std::string pubkey = (dir.path() / "pub.pem").string();

  test_cert() {
    std::string out;
    REQUIRE(test::run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec",
                       "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                       "-keyout", key, "-out", cert, "-days", "2", "-subj",
                       "/CN=localhost", "-addext",
                       "subjectAltName=DNS:localhost,IP:127.0.0.1"},
                      out, true)
            == 0);
    REQUIRE(test::run({"/usr/bin/openssl", "x509", "-in", cert, "-pubkey",
                       "-noout", "-out", pubkey},
                      out)
            == 0);
  }
};

/// tests/tools/smtp_sink.py on a free port, stopped at scope end.
class smtp_sink {
public:
  explicit smtp_sink(std::vector<std::string> flags = {}) {
    std::vector<std::string> argv{
        test::python(),   test::tools_dir() + "/smtp_sink.py",
        "--maildir",      maildir().string(),
        "--control-file", control_file().string()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    proc_ = std::make_unique<test::child_process>(argv);
    for (;;) {
      auto line = proc_->read_line(std::chrono::seconds{10});
      REQUIRE_FALSE(line.empty());
      if (line.rfind("PORT ", 0) == 0)
        port_ = static_cast<std::uint16_t>(std::stoi(line.substr(5)));
      if (line == "READY")
        break;
    }
    REQUIRE(port_ != 0);
  }

  std::uint16_t port() const { return port_; }
  fs::path maildir() const { return dir_.path() / "mail"; }
  fs::path control_file() const { return dir_.path() / "control"; }

  std::size_t received() const {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(maildir()))
      n += e.path().extension() == ".eml";
    return n;
  }
  std::string message(int n) const {
    return test::read_file(maildir() / (std::to_string(n) + ".eml"));
  }
  nlohmann::json meta(int n) const {
    return nlohmann::json::parse(
        test::read_file(maildir() / (std::to_string(n) + ".json")));
  }

private:
  test::temp_dir dir_;
  std::unique_ptr<test::child_process> proc_;
  std::uint16_t port_ = 0;
};

smtp_config config_for(const smtp_sink& sink, smtp_security security) {
  smtp_config c;
  c.host = "127.0.0.1";
  c.port = sink.port();
  c.security = security;
  c.connect_timeout = std::chrono::seconds{5};
  c.timeout = std::chrono::seconds{20};
  return c;
}

/// Parses a received message with Python's email package.
nlohmann::json inspect(const std::string& message) {
  test::temp_dir dir;
  test::write_file(dir.path() / "m.eml", message);
  std::string out;
  REQUIRE(test::run({test::python(), test::tools_dir() + "/mime_inspect.py",
                     (dir.path() / "m.eml").string()},
                    out)
          == 0);
  return nlohmann::json::parse(out);
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
std::uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

} // namespace

// -- outbox ------------------------------------------------------------------

TEST_CASE("the outbox writes one file per message id", "[mail][outbox]") {
  test::temp_dir dir;
  auto outbox_dir = dir.path() / "data" / "outbox"; // does not exist yet
  outbox_transport outbox(outbox_dir.string());
  auto msg = sample_message("job-1");
  auto r = outbox.send(sample_envelope("job-1"), msg);
  REQUIRE(r.ok());
  CHECK(r.location == outbox.path_for("<job-1@auth.example.com>"));
  CHECK(test::read_file(r.location) == msg);
  CHECK((fs::status(outbox_dir).permissions() & fs::perms::all)
        == fs::perms::owner_all);
  CHECK((fs::status(r.location).permissions() & fs::perms::all)
        == (fs::perms::owner_read | fs::perms::owner_write));

  SECTION("a retried job overwrites its file instead of adding one") {
    auto again = outbox.send(sample_envelope("job-1"), msg + "\r\n");
    REQUIRE(again.ok());
    CHECK(again.location == r.location);
    CHECK(test::read_file(r.location) == msg + "\r\n");
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(outbox_dir))
      ++files;
    CHECK(files == 1); // no temporary files left behind either
  }
  SECTION("another job gets another file") {
    auto other = outbox.send(sample_envelope("job-2"), msg);
    REQUIRE(other.ok());
    CHECK(other.location != r.location);
  }
}

TEST_CASE("outbox file names are safe and distinct", "[mail][outbox]") {
  outbox_transport outbox("/srv/outbox");
  auto a = outbox.path_for("<a/b@x>");
  auto b = outbox.path_for("<a_b@x>");
  CHECK(a != b);
  CHECK(a.rfind("/srv/outbox/a_b@x-", 0) == 0);
  CHECK(outbox.path_for("<../../etc/passwd@x>").find("/../")
        == std::string::npos);
  CHECK(fs::path(outbox.path_for("<.hidden@x>")).filename().string()[0] != '.');
}

TEST_CASE("outbox failures are classified", "[mail][outbox]") {
  test::temp_dir dir;
  SECTION("a bad envelope is permanent") {
    outbox_transport outbox(dir.str());
    auto env = sample_envelope("job-1");
    env.recipients.clear();
    CHECK(outbox.send(env, "x").status == send_status::permanent_failure);
    env = sample_envelope("job-1");
    env.recipients = {"zoe@example.org\r\nRCPT TO:<x@y.z>"};
    CHECK(outbox.send(env, "x").status == send_status::permanent_failure);
  }
  SECTION("a folder we cannot create is temporary") {
    test::write_file(dir.path() / "file", "x");
    outbox_transport outbox((dir.path() / "file" / "outbox").string());
    auto r = outbox.send(sample_envelope("job-1"), "x");
    CHECK(r.status == send_status::temporary_failure);
    CHECK_FALSE(r.error.empty());
  }
}

TEST_CASE("an outbox batch writes every message, each on its own merits",
          "[mail][outbox]") {
  test::temp_dir dir;
  outbox_transport outbox(dir.str(), 8);
  CHECK(outbox.batch_limit() == 8);
  std::vector<outgoing> batch;
  for (int i = 0; i < 5; ++i) {
    auto id = "job-" + std::to_string(i);
    batch.push_back({sample_envelope(id), sample_message(id)});
  }
  batch[2].env.recipients.clear(); // refused: permanent, the others go on
  auto results = outbox.send_batch(batch);
  REQUIRE(results.size() == batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    INFO("message " << i);
    if (i == 2) {
      CHECK(results[i].status == send_status::permanent_failure);
      CHECK(results[i].location.empty());
      continue;
    }
    REQUIRE(results[i].ok());
    CHECK(results[i].location == outbox.path_for(batch[i].env.message_id));
    CHECK(test::read_file(results[i].location) == batch[i].message);
    CHECK((fs::status(results[i].location).permissions() & fs::perms::all)
          == (fs::perms::owner_read | fs::perms::owner_write));
  }
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    CHECK(e.path().filename().string()[0] != '.'); // no temporary file left
    ++files;
  }
  CHECK(files == 4);
}

// -- smtp --------------------------------------------------------------------

TEST_CASE("smtp security names parse", "[mail][smtp]") {
  CHECK(parse_smtp_security("starttls") == smtp_security::starttls);
  CHECK(parse_smtp_security("tls") == smtp_security::tls);
  CHECK(parse_smtp_security("none") == smtp_security::none);
  CHECK_FALSE(parse_smtp_security("ssl"));
  smtp_config c;
  c.host = "mail.example.com";
  CHECK(smtp_transport(c).url() == "smtp://mail.example.com:587");
  c.security = smtp_security::tls;
  CHECK(smtp_transport(c).url() == "smtps://mail.example.com:465");
  c.security = smtp_security::none;
  c.host = "::1";
  CHECK(smtp_transport(c).url() == "smtp://[::1]:25");
}

TEST_CASE("a plain SMTP send arrives with both parts", "[mail][smtp]") {
  smtp_sink sink;
  smtp_transport smtp(config_for(sink, smtp_security::none));
  auto msg = sample_message("job-plain");
  auto r = smtp.send(sample_envelope("job-plain"), msg);
  INFO(r.error);
  REQUIRE(r.ok());
  CHECK(r.smtp_code == 250);
  REQUIRE(sink.received() == 1);
  CHECK(sink.message(1) == msg);
  auto meta = sink.meta(1);
  CHECK(meta["mail_from"] == "bounces@auth.example.com");
  CHECK(meta["rcpt_tos"] == nlohmann::json::array({"zoe@example.org"}));
  CHECK(meta["tls"] == false);
  auto j = inspect(sink.message(1));
  CHECK(j["defects"].empty());
  CHECK(j["subject"] == "Anmeldung bei Example");
  CHECK(j["message_id"] == "<job-plain@auth.example.com>");
  REQUIRE(j["parts"].size() == 2);
  CHECK(j["parts"][0]["content_type"] == "text/plain");
  CHECK(j["parts"][1]["content_type"] == "text/html");
  CHECK(j["parts"][0]["text"].get<std::string>().find("Zoë <admin>")
        != std::string::npos);
  CHECK(j["parts"][1]["text"].get<std::string>().find("Zoë &lt;admin&gt;")
        != std::string::npos);
}

TEST_CASE("STARTTLS to a relay with a self-signed certificate",
          "[mail][smtp][tls]") {
  test_cert cert;
  smtp_sink sink(
      {"--tls-cert", cert.cert, "--tls-key", cert.key, "--require-tls"});
  auto config = config_for(sink, smtp_security::starttls);
  SECTION("trusted as the CA file") {
    config.ca_file = cert.cert;
    auto r = smtp_transport(config).send(sample_envelope("j"),
                                         sample_message("j"));
    INFO(r.error);
    REQUIRE(r.ok());
    CHECK(sink.meta(1)["tls"] == true);
  }
  SECTION("trusted by its pinned public key") {
    config.pinned_public_key = cert.pubkey;
    auto r = smtp_transport(config).send(sample_envelope("j"),
                                         sample_message("j"));
    INFO(r.error);
    REQUIRE(r.ok());
    CHECK(sink.meta(1)["tls"] == true);
  }
  SECTION("not trusted: a temporary failure, nothing sent") {
    config.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    auto r = smtp_transport(config).send(sample_envelope("j"),
                                         sample_message("j"));
    CHECK(r.status == send_status::temporary_failure);
    CHECK(sink.received() == 0);
  }
  SECTION("a wrong pin: a temporary failure, nothing sent") {
    test_cert other;
    config.pinned_public_key = other.pubkey;
    auto r = smtp_transport(config).send(sample_envelope("j"),
                                         sample_message("j"));
    CHECK(r.status == send_status::temporary_failure);
    CHECK(sink.received() == 0);
  }
}

TEST_CASE("starttls never falls back to plain text", "[mail][smtp][tls]") {
  smtp_sink sink; // offers no STARTTLS
  auto r = smtp_transport(config_for(sink, smtp_security::starttls))
               .send(sample_envelope("j"), sample_message("j"));
  CHECK(r.status == send_status::temporary_failure);
  CHECK(sink.received() == 0);
}

TEST_CASE("implicit TLS (smtps)", "[mail][smtp][tls]") {
  test_cert cert;
  smtp_sink sink(
      {"--tls-cert", cert.cert, "--tls-key", cert.key, "--implicit-tls"});
  auto config = config_for(sink, smtp_security::tls);
  config.ca_file = cert.cert;
  auto r
      = smtp_transport(config).send(sample_envelope("j"), sample_message("j"));
  INFO(r.error);
  REQUIRE(r.ok());
  CHECK(sink.meta(1)["tls"] == true);
}

TEST_CASE("SMTP AUTH over STARTTLS", "[mail][smtp][auth]") {
  test_cert cert;
  smtp_sink sink({"--tls-cert", cert.cert, "--tls-key", cert.key, "--auth-user",
                  "mailer", "--auth-password", "s3cret pass"});
  auto config = config_for(sink, smtp_security::starttls);
  config.ca_file = cert.cert;
  SECTION("right credentials") {
    config.username = "mailer";
    config.password = "s3cret pass";
    auto r = smtp_transport(config).send(sample_envelope("j"),
                                         sample_message("j"));
    INFO(r.error);
    REQUIRE(r.ok());
    CHECK(sink.meta(1)["auth_user"] == "mailer");
  }
  SECTION("wrong credentials are a relay problem: temporary") {
    config.username = "mailer";
    config.password = "wrong";
    auto r = smtp_transport(config).send(sample_envelope("j"),
                                         sample_message("j"));
    CHECK(r.status == send_status::temporary_failure);
    CHECK(r.smtp_code == 535);
    CHECK(sink.received() == 0);
  }
  SECTION("no credentials where they are required: temporary") {
    auto r = smtp_transport(config).send(sample_envelope("j"),
                                         sample_message("j"));
    CHECK(r.status == send_status::temporary_failure);
    CHECK(r.smtp_code == 530);
  }
}

TEST_CASE("SMTP replies map to temporary and permanent failures",
          "[mail][smtp]") {
  SECTION("451 at end of data is temporary") {
    smtp_sink sink({"--fail-next", "1", "--fail-code", "451"});
    smtp_transport smtp(config_for(sink, smtp_security::none));
    auto r = smtp.send(sample_envelope("j"), sample_message("j"));
    CHECK(r.status == send_status::temporary_failure);
    CHECK(r.smtp_code == 451);
    CHECK(r.error.find("451") != std::string::npos);
    CHECK(sink.received() == 0);
    // The sink answers normally again: the retry goes through.
    CHECK(smtp.send(sample_envelope("j"), sample_message("j")).ok());
    CHECK(sink.received() == 1);
  }
  SECTION("550 to RCPT (unknown mailbox) is permanent") {
    smtp_sink sink(
        {"--fail-next", "1", "--fail-code", "550", "--fail-stage", "rcpt"});
    smtp_transport smtp(config_for(sink, smtp_security::none));
    auto r = smtp.send(sample_envelope("j"), sample_message("j"));
    CHECK(r.status == send_status::permanent_failure);
    CHECK(r.smtp_code == 550);
    INFO(r.error);
    CHECK(r.error.find("Mailbox unavailable") != std::string::npos);
    CHECK(sink.received() == 0);
  }
  SECTION("the control file switches failures on while the sink runs") {
    smtp_sink sink;
    smtp_transport smtp(config_for(sink, smtp_security::none));
    REQUIRE(smtp.send(sample_envelope("a"), sample_message("a")).ok());
    test::write_file(sink.control_file(), "1 554 data\n");
    auto r = smtp.send(sample_envelope("b"), sample_message("b"));
    CHECK(r.status == send_status::permanent_failure);
    CHECK(r.smtp_code == 554);
    CHECK(smtp.send(sample_envelope("c"), sample_message("c")).ok());
    CHECK(sink.received() == 2);
  }
}

TEST_CASE("an unreachable relay is a temporary failure", "[mail][smtp]") {
  SECTION("connection refused") {
    smtp_config c;
    c.host = "127.0.0.1";
    c.port = free_port();
    c.security = smtp_security::none;
    auto r = smtp_transport(c).send(sample_envelope("j"), sample_message("j"));
    CHECK(r.status == send_status::temporary_failure);
    CHECK(r.smtp_code == 0);
    CHECK_FALSE(r.error.empty());
  }
  SECTION("a relay that never greets times out") {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd, 4) == 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    smtp_config c;
    c.host = "127.0.0.1";
    c.port = ntohs(a.sin_port);
    c.security = smtp_security::none;
    c.timeout = std::chrono::milliseconds{800};
    auto r = smtp_transport(c).send(sample_envelope("j"), sample_message("j"));
    close(fd);
    CHECK(r.status == send_status::temporary_failure);
  }
}
