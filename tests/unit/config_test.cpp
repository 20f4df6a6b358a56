#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/config.hpp"

using namespace authsvc::config;

namespace {

std::string write_temp(const std::string& text) {
  auto path = std::filesystem::temp_directory_path()
              / ("pa-config-" + std::to_string(std::rand()) + ".toml");
  std::ofstream(path) << text;
  return path.string();
}

} // namespace

TEST_CASE("with no input the embedded defaults apply", "[config]") {
  auto s = load({});
  CHECK(s.server.host == "127.0.0.1");
  CHECK(s.server.port == 3000);
  CHECK(s.database.path == "./data/auth.db");
  CHECK(s.mail.transport == "outbox");
  CHECK(s.mail.outbox_dir == "./data/outbox");
  CHECK(s.tokens.issuer == "http://localhost:3000");
  CHECK(s.tokens.audience == "passwordless-auth");
  CHECK(s.tokens.access_ttl == 900);
  CHECK(s.tokens.refresh_ttl == 2592000);
  CHECK(s.webauthn.rp_id == "localhost");
  CHECK(s.webauthn.origins
        == std::vector<std::string>{"http://localhost:3000"});
  CHECK(s.rate_limit.enabled);
  CHECK(s.log.format == "json");
  CHECK_FALSE(s.caf.enabled);
  CHECK(s.caf.port == 4242);
  CHECK_FALSE(s.warnings.empty()); // no secret key configured
}

TEST_CASE("flags beat the environment, which beats the file", "[config]") {
  auto path = write_temp("[server]\nport = 3001\nhost = \"0.0.0.0\"\n"
                         "public_url = \"https://auth.example.com/\"\n"
                         "[tokens]\naccess_ttl = 600\n");
  sources src;
  src.config_path = path;
  src.environment
      = {{"PA_SERVER_PORT", "3002"},
         {"PA_TOKENS_ACCESS_TTL", "300"},
         {"PA_SERVER_CORS_ORIGINS", "https://a.example, https://b.example"}};
  src.overrides = {"server.port=3003"};
  auto s = load(src);
  CHECK(s.server.port == 3003);
  CHECK(s.server.host == "0.0.0.0");
  CHECK(s.tokens.access_ttl == 300);
  CHECK(s.server.public_url == "https://auth.example.com");
  CHECK(s.tokens.issuer == "https://auth.example.com");
  CHECK(s.webauthn.rp_id == "auth.example.com");
  CHECK(s.server.cors_origins.size() == 2);
  CHECK(s.sources.at("server.port") == "flag");
  CHECK(s.sources.at("tokens.access_ttl") == "env PA_TOKENS_ACCESS_TTL");
  std::filesystem::remove(path);
}

TEST_CASE("a bad value names its key", "[config]") {
  auto check_key = [](sources src, const std::string& key) {
    try {
      load(src);
      FAIL("expected a config_error for " << key);
    } catch (const config_error& e) {
      CHECK(e.key() == key);
    }
  };
  check_key({{}, {{"PA_SERVER_PORT", "99999"}}, {}}, "server.port");
  check_key({{}, {{"PA_RATE_LIMIT_ENABLED", "maybe"}}, {}},
            "rate_limit.enabled");
  check_key({{}, {{"PA_SMTP_SECURITY", "ssl"}}, {}}, "smtp.security");
  check_key({{}, {{"PA_SERVER_PUBLIC_URL", "ftp://x"}}, {}},
            "server.public_url");
  check_key({{}, {{"PA_AUTH_SECRET_KEY", "short"}}, {}}, "auth.secret_key");
  check_key({{}, {}, {"nosuch.key=1"}}, "nosuch.key");
  check_key({{}, {}, {"smtp.password=x"}}, "smtp.password");
  check_key({{}, {{"PA_MAIL_TRANSPORT", "smtp"}}, {}}, "smtp.host");
  check_key(
      {{},
       {{"PA_SMTP_HOST", "relay.example.com"}, {"PA_SMTP_SECURITY", "none"}},
       {}},
      "smtp.security");
  check_key({{}, {{"PA_SERVER_IP_DENY", "not-an-ip"}}, {}}, "server.ip_deny");
  check_key({write_temp("[server]\nport = \"x\"\n"), {}, {}}, "server.port");
  check_key({write_temp("[server]\nunknown = 1\n"), {}, {}}, "server.unknown");
  check_key({write_temp("[admin]\napi_key = \"k\"\n"), {}, {}},
            "admin.api_key");
  check_key({write_temp("[server\n"), {}, {}}, "config");
}

TEST_CASE("secrets come from the environment or files and are redacted",
          "[config]") {
  auto secret_file = write_temp("from-a-file-secret\n");
  auto path = write_temp("[smtp]\nhost = \"relay\"\npassword_file = \""
                         + secret_file + "\"\n");
  sources src;
  src.config_path = path;
  src.environment = {{"PA_ADMIN_API_KEY", "admin-key-value"}};
  auto s = load(src);
  CHECK(s.smtp.password == "from-a-file-secret");
  CHECK(s.admin.api_key == "admin-key-value");
  CHECK(s.mail.transport == "smtp");
  auto text = to_redacted_toml(s);
  CHECK(text.find("from-a-file-secret") == std::string::npos);
  CHECK(text.find("admin-key-value") == std::string::npos);
  CHECK(text.find("<redacted>") != std::string::npos);
}

TEST_CASE("a secret file that is a folder, missing or huge is a config error",
          "[config]") {
  // Fuzz finding (tests/fuzz/config_toml): `metrics.token_file` naming a
  // folder made load() throw std::ios_base::failure, a crash at start
  // instead of the exit 2 of every bad setting.
  auto dir = std::filesystem::temp_directory_path()
             / ("pa-config-dir-" + std::to_string(std::rand()));
  std::filesystem::create_directories(dir);
  auto huge = write_temp(std::string(70 * 1024, 'x'));
  for (const auto& file : {dir.string(), dir.string() + "/missing", huge}) {
    sources src;
    src.config_path
        = write_temp("[metrics]\ntoken_file = \"" + file + "\"\n");
    CHECK_THROWS_AS(load(src), config_error);
  }
  std::filesystem::remove_all(dir);
  std::filesystem::remove(huge);
}

TEST_CASE("secrets come from systemd credentials named like their variables",
          "[config]") {
  // systemd's LoadCredential= puts each secret into $CREDENTIALS_DIRECTORY
  // (deploy/passwordless-auth.service); the file is named like the variable.
  auto dir = std::filesystem::temp_directory_path()
             / ("pa-creds-" + std::to_string(std::rand()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "PA_AUTH_SECRET_KEY")
      << "credential-secret-0123456789abcdef0123456789\n";
  std::ofstream(dir / "PA_SMTP_PASSWORD") << "smtp-from-credential";
  // Only secrets are read there: a non-secret named like its variable is not.
  std::ofstream(dir / "PA_SERVER_HOST") << "0.0.0.0";
  sources src;
  src.environment = {{"CREDENTIALS_DIRECTORY", dir.string()},
                     {"PA_SMTP_PASSWORD", "smtp-from-env"}};
  auto s = load(src);
  CHECK(s.auth.secret_key == "credential-secret-0123456789abcdef0123456789");
  CHECK(s.sources.at("auth.secret_key") == "credential PA_AUTH_SECRET_KEY");
  // The credential beats the plain variable (systemd set it on purpose)...
  CHECK(s.smtp.password == "smtp-from-credential");
  CHECK(s.server.host == "127.0.0.1");
  CHECK(s.warnings.empty());
  SECTION("an explicit PA_X_FILE beats the credential") {
    auto file = write_temp("smtp-from-file\n");
    src.environment["PA_SMTP_PASSWORD_FILE"] = file;
    CHECK(load(src).smtp.password == "smtp-from-file");
  }
  SECTION("a secret without a credential file is left alone") {
    std::filesystem::remove(dir / "PA_AUTH_SECRET_KEY");
    auto t = load(src);
    CHECK(t.auth.secret_key.empty());
    CHECK(t.sources.count("auth.secret_key") == 0);
  }
  SECTION("without CREDENTIALS_DIRECTORY nothing is read from it") {
    src.environment.erase("CREDENTIALS_DIRECTORY");
    CHECK(load(src).smtp.password == "smtp-from-env");
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("rate-limit policies parse from TOML tables and the environment",
          "[config]") {
  auto path
      = write_temp("[rate_limit]\npolicies = { verify_per_ip = \"10/60\" }\n");
  sources src;
  src.config_path = path;
  auto s = load(src);
  CHECK(s.rate_limit.policies.at("verify_per_ip") == "10/60");
  src.environment
      = {{"PA_RATE_LIMIT_POLICIES", "verify_per_ip=3/10,global_per_ip=100/60"}};
  s = load(src);
  CHECK(s.rate_limit.policies.at("verify_per_ip") == "3/10");
  CHECK(parse_rate("k", "5/3600")
        == std::pair<std::int64_t, std::int64_t>{5, 3600});
  CHECK_THROWS_AS(parse_rate("k", "5"), config_error);
}

TEST_CASE("every documented key appears in config.example.toml", "[config]") {
  std::ifstream in(std::string(AUTHSVC_SOURCE_DIR) + "/config.example.toml");
  REQUIRE(in);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  for (const auto& key : known_keys()) {
    auto dot = key.find('.');
    auto section = "[" + key.substr(0, dot) + "]";
    auto name = key.substr(dot + 1);
    INFO(key);
    CHECK(text.find(section) != std::string::npos);
    CHECK(text.find(name) != std::string::npos);
  }
}

TEST_CASE("smtp trust settings: pinned key, and plain text only on loopback",
          "[config]") {
  sources src;
  src.environment = {{"PA_SMTP_HOST", "127.0.0.1"},
                     {"PA_SMTP_SECURITY", "none"},
                     {"PA_SMTP_PINNED_PUBLIC_KEY", "sha256//abc="}};
  auto s = load(src);
  CHECK(s.smtp.security == "none");
  CHECK(s.smtp.pinned_public_key == "sha256//abc=");
  for (const char* host : {"localhost", "::1", "127.0.0.5"}) {
    src.environment["PA_SMTP_HOST"] = host;
    CHECK_NOTHROW(load(src));
  }
}

TEST_CASE("database.url: PostgreSQL, a password only from the environment "
          "or a file",
          "[config][pg]") {
  CHECK(load({}).database.url.empty()); // SQLite unless asked

  sources env;
  env.environment
      = {{"PA_DATABASE_URL", "postgresql://auth:s3cret@db.internal:5432/auth"}};
  CHECK(load(env).database.url
        == "postgresql://auth:s3cret@db.internal:5432/auth");
  // Shown redacted, like every secret.
  CHECK(to_redacted_toml(load(env)).find("s3cret") == std::string::npos);

  auto url_file = write_temp("postgresql://auth:fromfile@db/auth\n");
  sources file_src;
  file_src.config_path
      = write_temp("[database]\nurl_file = \"" + url_file + "\"\n");
  CHECK(load(file_src).database.url == "postgresql://auth:fromfile@db/auth");

  // In the TOML file: only without a password.
  sources plain;
  plain.config_path
      = write_temp("[database]\nurl = \"postgresql://auth@db:5432/auth\"\n");
  CHECK(load(plain).database.url == "postgresql://auth@db:5432/auth");
  for (const char* with_password :
       {"postgresql://auth:pw@db/auth", "postgresql://db/auth?password=pw",
        "host=db user=auth password=pw",
        "postgresql://auth@db/auth?sslmode=require&password=pw"}) {
    INFO(with_password);
    sources bad;
    bad.config_path = write_temp("[database]\nurl = \""
                                 + std::string(with_password) + "\"\n");
    CHECK_THROWS_AS(load(bad), config_error);
  }
  // Not a PostgreSQL URL at all.
  for (const char* wrong :
       {"mysql://auth@db/auth", "db.internal", "./auth.db"}) {
    INFO(wrong);
    sources bad;
    bad.environment = {{"PA_DATABASE_URL", wrong}};
    CHECK_THROWS_AS(load(bad), config_error);
  }
  CHECK_FALSE(database_url_has_password("postgresql://auth@db/auth"));
  CHECK_FALSE(database_url_has_password("host=db user=auth dbname=auth"));
  CHECK_FALSE(database_url_has_password("postgresql://db/x?passwordless=1"));
  CHECK(database_url_has_password("postgresql://u:p@db/x"));
  CHECK(database_url_has_password("password = pw host=db"));
}

TEST_CASE("rate_limit.backend redis: a URL that parses, a password only from "
          "the environment or a file",
          "[config][redis]") {
  auto d = load({});
  CHECK(d.rate_limit.backend == "memory"); // per node unless asked
  CHECK(d.rate_limit.redis_fail_open);
  CHECK(d.rate_limit.redis_timeout == 0.25);

  sources no_url;
  no_url.environment = {{"PA_RATE_LIMIT_BACKEND", "redis"}};
  CHECK_THROWS_AS(load(no_url), config_error);
  for (const char* wrong : {"rediss://cache:6380", "cache:6379",
                            "redis://cache:0", "unix:///run/redis.sock"}) {
    INFO(wrong);
    sources bad = no_url;
    bad.environment["PA_RATE_LIMIT_REDIS_URL"] = wrong;
    CHECK_THROWS_AS(load(bad), config_error);
  }

  sources env = no_url;
  env.environment["PA_RATE_LIMIT_REDIS_URL"] = "redis://:s3cret@cache:6379/1";
  env.environment["PA_RATE_LIMIT_REDIS_FAIL_OPEN"] = "false";
  env.environment["PA_RATE_LIMIT_REDIS_TIMEOUT"] = "0.05";
  auto s = load(env);
  CHECK(s.rate_limit.redis_url == "redis://:s3cret@cache:6379/1");
  CHECK_FALSE(s.rate_limit.redis_fail_open);
  CHECK(s.rate_limit.redis_timeout == 0.05);
  CHECK(to_redacted_toml(s).find("s3cret") == std::string::npos);

  sources plain;
  plain.config_path = write_temp(
      "[rate_limit]\nbackend = \"redis\"\nredis_url = \"redis://cache/2\"\n");
  CHECK(load(plain).rate_limit.redis_url == "redis://cache/2");
  sources with_password;
  with_password.config_path
      = write_temp("[rate_limit]\nbackend = \"redis\"\n"
                   "redis_url = \"redis://:pw@cache:6379\"\n");
  CHECK_THROWS_AS(load(with_password), config_error);
  auto url_file = write_temp("redis://:fromfile@cache:6379\n");
  sources file_src;
  file_src.config_path = write_temp("[rate_limit]\nbackend = \"redis\"\n"
                                    "redis_url_file = \""
                                    + url_file + "\"\n");
  CHECK(load(file_src).rate_limit.redis_url == "redis://:fromfile@cache:6379");
}
