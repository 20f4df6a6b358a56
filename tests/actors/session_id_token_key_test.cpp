// The RS256 ID-token key (issue 16) is made on demand, not at every start
// (actors/session_id_token_key.cpp): a start without OAuth clients makes
// only the access-token key; id_key_atom makes the RS256 key once, however
// many ask at the same moment; rotation renews it once it exists.
#include <catch2/catch.hpp>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "db/keys_store.hpp"
#include "db/oauth_store.hpp"
#include "tests/actors/session_fixture.hpp"

namespace authsvc::test {

namespace {

std::vector<std::string> jwks_algs(session_fixture& f) {
  std::vector<std::string> out;
  f.self->request(f.sessions, answer_timeout, atom::jwks_atom_v)
      .receive(
          [&](std::string& doc) {
            auto jwks = nlohmann::json::parse(doc);
            for (const auto& k : jwks["keys"])
              out.push_back(k["alg"].get<std::string>());
          },
          [&](caf::error& e) { FAIL(caf::to_string(e)); });
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t stored_rs256(session_fixture& f) {
  return f.query(db::keys_store::live_key_of("RS256")).rows.size();
}

} // namespace

TEST_CASE("a start without OAuth clients makes no RS256 key; id_key_atom "
          "makes one, once",
          "[sessions][oidc]") {
  session_fixture f;
  CHECK(jwks_algs(f) == std::vector<std::string>{"ES256"});
  CHECK(stored_rs256(f) == 0);
  // Two asks in flight at once: one key, both answered with its kid.
  auto a = f.self->request(f.sessions, answer_timeout, atom::id_key_atom_v);
  auto b = f.self->request(f.sessions, answer_timeout, atom::id_key_atom_v);
  std::string kid_a, kid_b;
  a.receive([&](std::string& kid) { kid_a = kid; },
            [&](caf::error& e) { FAIL(caf::to_string(e)); });
  b.receive([&](std::string& kid) { kid_b = kid; },
            [&](caf::error& e) { FAIL(caf::to_string(e)); });
  CHECK(!kid_a.empty());
  CHECK(kid_a == kid_b);
  CHECK(jwks_algs(f) == std::vector<std::string>{"ES256", "RS256"});
  CHECK(stored_rs256(f) == 1);
  // Asked again: the same key.
  f.self->request(f.sessions, answer_timeout, atom::id_key_atom_v)
      .receive([&](std::string& kid) { CHECK(kid == kid_a); },
               [&](caf::error& e) { FAIL(caf::to_string(e)); });
  // A rotation renews both algorithms now (old ones keep verifying).
  f.self->request(f.sessions, answer_timeout, atom::rotate_atom_v)
      .receive([](std::string&) {},
               [&](caf::error& e) { FAIL(caf::to_string(e)); });
  CHECK(jwks_algs(f)
        == std::vector<std::string>{"ES256", "ES256", "RS256", "RS256"});
  CHECK(stored_rs256(f) == 1);
}

TEST_CASE("a rotation without an RS256 key renews only the access-token key",
          "[sessions][oidc]") {
  session_fixture f;
  f.self->request(f.sessions, answer_timeout, atom::rotate_atom_v)
      .receive([](std::string&) {},
               [&](caf::error& e) { FAIL(caf::to_string(e)); });
  CHECK(jwks_algs(f) == std::vector<std::string>{"ES256", "ES256"});
  CHECK(stored_rs256(f) == 0);
}

} // namespace authsvc::test
