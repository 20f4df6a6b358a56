// The command line: CLI11 options and sub-commands, the configuration load,
// and the dispatch to the offline commands (src/cli_*.cpp) or to serve.
#include <iostream>

#include <CLI/CLI.hpp>

#include "front/http_front.hpp"
#include "core/version.hpp"
#include "db/pg_executor.hpp"
#include "db/sqlite_executor.hpp"
#include "src/cli.hpp"

namespace authsvc::cli {

std::unique_ptr<db::executor> open_db(const config::settings& cfg) {
  std::unique_ptr<db::executor> ex;
  if (cfg.database.url.empty()) {
    ex = std::make_unique<db::sqlite_executor>(
        cfg.database.path, cfg.database.synchronous,
        static_cast<int>(cfg.database.busy_timeout_ms));
  } else {
    db::pg_options po;
    po.url = cfg.database.url;
    ex = std::make_unique<db::pg_executor>(std::move(po));
    ex->set_busy_timeout(static_cast<int>(cfg.database.busy_timeout_ms));
  }
  ex->migrate(db::embedded_migrations(ex->kind()));
  return ex;
}

int run(int argc, char** argv, serve_fn serve) {
  CLI::App app{"passwordless-auth: self-hosted passwordless authentication"};
  std::string config_path;
  std::vector<std::string> overrides;
  bool show_version = false;
  app.add_option("-c,--config", config_path, "path to config.toml");
  app.add_option("--set", overrides,
                 "override a key: --set server.port=3001 (repeatable)");
  app.add_flag("-V,--version", show_version, "print the version and exit");
  auto* serve_cmd = app.add_subcommand("serve", "run the service (default)");
  serve_cmd->fallthrough();
  auto* check_cmd = app.add_subcommand(
      "check-config", "validate and print the effective configuration");
  check_cmd->fallthrough();
  auto* admin_cmd = app.add_subcommand("admin", "manage admin API keys");
  auto* create_key_cmd = admin_cmd->add_subcommand(
      "create-key", "create an admin API key (printed once, stored hashed)");
  std::string key_name;
  create_key_cmd->add_option("--name", key_name, "a name for the key")
      ->required();
  admin_cmd->require_subcommand(1);
  admin_cmd->fallthrough();
  create_key_cmd->fallthrough();
  auto* audit_cmd = app.add_subcommand("audit", "read the audit trail");
  auto* export_cmd = audit_cmd->add_subcommand(
      "export", "write audit events as JSON lines to stdout");
  std::int64_t export_since = 0;
  std::int64_t export_until = 0;
  export_cmd->add_option("--since", export_since, "unix seconds (inclusive)")
      ->required();
  export_cmd->add_option("--until", export_until, "unix seconds (inclusive)");
  audit_cmd->require_subcommand(1);
  audit_cmd->fallthrough();
  export_cmd->fallthrough();
  auto* routes_cmd = app.add_subcommand(
      "routes", "print every route the service answers (method and path)");
  routes_cmd->fallthrough();
  auto* keys_cmd = app.add_subcommand("keys", "manage signing keys");
  auto* rotate_cmd = keys_cmd->add_subcommand(
      "rotate",
      "add a new signing key; old keys verify until their tokens expire");
  keys_cmd->require_subcommand(1);
  keys_cmd->fallthrough();
  rotate_cmd->fallthrough();
  // -- OpenID Provider clients (issue 16) --
  auto* oauth_cmd = app.add_subcommand("oauth", "manage OAuth clients");
  auto* create_client_cmd = oauth_cmd->add_subcommand(
      "create-client",
      "register an OAuth client (printed as JSON; a secret is shown once)");
  std::string client_name;
  std::string client_type = "confidential";
  std::vector<std::string> client_redirects;
  std::vector<std::string> client_logout_redirects;
  bool client_first_party = false;
  std::string client_alg = "RS256";
  create_client_cmd->add_option("--name", client_name, "the client's name")
      ->required();
  create_client_cmd
      ->add_option("--type", client_type, "confidential (default) or public")
      ->check(CLI::IsMember({"confidential", "public"}));
  create_client_cmd
      ->add_option("--redirect-uri", client_redirects,
                   "a redirect URI, matched exactly (repeatable)")
      ->required();
  create_client_cmd->add_option("--post-logout-redirect-uri",
                                client_logout_redirects,
                                "a post-logout redirect URI (repeatable)");
  create_client_cmd->add_flag("--first-party", client_first_party,
                              "skip the consent page");
  create_client_cmd
      ->add_option("--id-token-alg", client_alg, "RS256 (default) or ES256")
      ->check(CLI::IsMember({"RS256", "ES256"}));
  oauth_cmd->require_subcommand(1);
  oauth_cmd->fallthrough();
  create_client_cmd->fallthrough();
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*routes_cmd) {
    for (const auto& r : route_table().routes())
      std::cout << r.method << " " << r.pattern << "\n";
    return 0;
  }
  if (show_version) {
    std::cout << "passwordless-auth " << authsvc::version << "\n";
    return 0;
  }
  std::shared_ptr<const config::settings> cfg;
  try {
    config::sources src;
    src.config_path = config_path;
    src.environment = config::process_environment();
    src.overrides = overrides;
    cfg = std::make_shared<const config::settings>(config::load(src));
  } catch (const config::config_error& e) {
    std::cerr << "config error: " << e.what() << "\n";
    return 2;
  }
  if (*check_cmd) {
    std::cout << config::to_redacted_toml(*cfg);
    for (const auto& w : cfg->warnings)
      std::cerr << "warning: " << w << "\n";
    return 0;
  }
  if (*create_key_cmd) {
    try {
      auto kid = create_admin_key(*cfg, key_name);
      std::cout << kid.second << "\n";
      std::cerr << "admin key " << kid.first << " (" << key_name
                << ") created; it is shown only once\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "admin create-key: " << e.what() << "\n";
      return 1;
    }
  }
  if (*export_cmd) {
    try {
      return export_audit(*cfg, export_since, export_until, std::cout);
    } catch (const std::exception& e) {
      std::cerr << "audit export: " << e.what() << "\n";
      return 1;
    }
  }
  if (*create_client_cmd) {
    try {
      auto master = load_or_create_master_secret(*cfg, nullptr);
      nlohmann::json fields{
          {"name", client_name},
          {"type", client_type},
          {"redirect_uris", client_redirects},
          {"post_logout_redirect_uris", client_logout_redirects},
          {"first_party", client_first_party},
          {"id_token_signed_response_alg", client_alg}};
      auto out
          = create_oauth_client_offline(*cfg, key_ring::derive(master), fields);
      std::cout << out.dump(2) << "\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "oauth create-client: " << e.what() << "\n";
      return 1;
    }
  }
  if (*rotate_cmd) {
    try {
      bool generated = false;
      auto master = load_or_create_master_secret(*cfg, &generated);
      auto kid = rotate_signing_key_offline(*cfg, key_ring::derive(master));
      std::cout << "new signing key " << kid << "\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "keys rotate: " << e.what() << "\n";
      return 1;
    }
  }
  return serve(cfg);
}

} // namespace authsvc::cli
