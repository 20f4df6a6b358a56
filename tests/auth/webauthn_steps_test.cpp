// One test per verification step of WebAuthn §7.1 / §7.2, driven by a
// software authenticator so every input can be varied on its own.
#include <catch2/catch.hpp>

#include "auth/webauthn/assertion.hpp"
#include "auth/webauthn/authenticator_data.hpp"
#include "auth/webauthn/client_data.hpp"
#include "auth/webauthn/cose_key.hpp"
#include "auth/webauthn/registration.hpp"
#include "webauthn_test_support.hpp"

using namespace authsvc::auth;
using namespace authsvc::auth::webauthn;
using namespace authsvc::auth::webauthn::testing;

namespace {

const std::string rp_id = "auth.example.com";
const std::string origin = "https://auth.example.com";
constexpr std::uint8_t up = 0x01, uv = 0x04, be = 0x08, bs = 0x10, at = 0x40,
                       ed = 0x80;

template <class Options>
Options make_policy(const bytes& challenge) {
  Options opts;
  opts.expected_challenge = challenge;
  opts.rp_ids = {rp_id};
  opts.origins = {origin};
  return opts;
}

struct registration_fixture {
  soft_authenticator authn;
  bytes challenge = random_bytes(32);
  registration_options opts = make_policy<registration_options>(challenge);

  explicit registration_fixture(int alg = -7) : authn(alg) {}

  registration_response response(std::uint8_t flags = up | uv | at,
                                 const std::string& fmt = "none",
                                 bytes cdj = {}) const {
    if (cdj.empty())
      cdj = make_client_data("webauthn.create", challenge, origin);
    registration_response r;
    r.raw_id = authn.credential_id;
    r.id = base64url_encode(r.raw_id);
    r.client_data_json = cdj;
    r.attestation_object
        = authn.attestation_object(fmt, authn.auth_data(rp_id, flags, 0), cdj);
    r.transports = {"internal", "hybrid"};
    return r;
  }
};

struct assertion_fixture {
  soft_authenticator authn;
  bytes challenge = random_bytes(32);
  assertion_options opts = make_policy<assertion_options>(challenge);

  explicit assertion_fixture(int alg = -7) : authn(alg) {
    opts.credential.public_key = authn.cose_key();
    opts.credential.credential_id = authn.credential_id;
    opts.credential.sign_count = 10;
  }

  assertion_response response(std::uint32_t counter = 11,
                              std::uint8_t flags = up | uv,
                              bytes cdj = {}) const {
    if (cdj.empty())
      cdj = make_client_data("webauthn.get", challenge, origin);
    assertion_response r;
    r.raw_id = authn.credential_id;
    r.id = base64url_encode(r.raw_id);
    r.client_data_json = cdj;
    r.authenticator_data = authn.auth_data(rp_id, flags, counter);
    bytes signed_data = r.authenticator_data;
    auto hash = sha256(cdj);
    signed_data.insert(signed_data.end(), hash.begin(), hash.end());
    r.signature = authn.sign(signed_data);
    return r;
  }
};

} // namespace

// -- client data --------------------------------------------------------------

TEST_CASE("clientDataJSON parses and tolerates unknown members",
          "[auth][webauthn]") {
  auto cd = parse_client_data(to_bytes(
      R"({"type":"webauthn.get","challenge":"AAEC","origin":"https:\/\/a.b",)"
      R"("crossOrigin":true,"topOrigin":"https://t.b","other":{"x":[1]}})"));
  REQUIRE(cd.ok());
  CHECK(cd->type == "webauthn.get");
  CHECK(cd->origin == "https://a.b");
  CHECK(cd->cross_origin);
  CHECK(cd->top_origin == std::optional<std::string>{"https://t.b"});
}

TEST_CASE("malformed clientDataJSON is rejected", "[auth][webauthn]") {
  for (const char* text :
       {"", "[]", "{", R"({"type":"webauthn.get","challenge":"AA"})",
        R"({"type":1,"challenge":"AA","origin":"o"})",
        R"({"type":"t","challenge":"AA","origin":"o","crossOrigin":"yes"})",
        "{\"type\":\"t\",\"challenge\":\"AA\",\"origin\":\"\xff\"}"}) {
    INFO(text);
    CHECK(parse_client_data(to_bytes(text)).reason()
          == "malformed_client_data");
  }
}

TEST_CASE("each client data check reports its own reason", "[auth][webauthn]") {
  ceremony_policy p;
  p.expected_challenge = {1, 2, 3};
  p.origins = {origin};
  client_data cd;
  cd.type = "webauthn.get";
  cd.challenge = base64url_encode(p.expected_challenge);
  cd.origin = origin;
  CHECK(check_client_data(cd, p, "webauthn.get").ok());
  SECTION("type") {
    CHECK(check_client_data(cd, p, "webauthn.create").reason()
          == "type_mismatch");
    p.expected_types = {"payment.get"};
    CHECK(check_client_data(cd, p, "webauthn.get").reason() == "type_mismatch");
  }
  SECTION("challenge, including another spelling of the same bytes") {
    cd.challenge = "AQID=";
    CHECK(check_client_data(cd, p, "webauthn.get").reason()
          == "challenge_mismatch");
    cd.challenge = "AQIE";
    CHECK(check_client_data(cd, p, "webauthn.get").reason()
          == "challenge_mismatch");
  }
  SECTION("origin") {
    cd.origin = "https://auth.example.com.evil.com";
    CHECK(check_client_data(cd, p, "webauthn.get").reason()
          == "origin_mismatch");
  }
  SECTION("cross origin and top origin") {
    cd.cross_origin = true;
    CHECK(check_client_data(cd, p, "webauthn.get").reason()
          == "cross_origin_not_allowed");
    p.allow_cross_origin = true;
    CHECK(check_client_data(cd, p, "webauthn.get").ok());
    cd.top_origin = "https://top.example";
    p.top_origins = {"https://other.example"};
    CHECK(check_client_data(cd, p, "webauthn.get").reason()
          == "top_origin_mismatch");
    p.allow_cross_origin = false;
    cd.cross_origin = false;
    CHECK(check_client_data(cd, p, "webauthn.get").reason()
          == "cross_origin_not_allowed");
  }
  SECTION("token binding") {
    cd.has_token_binding = true;
    cd.token_binding_status = "not-supported";
    CHECK(check_client_data(cd, p, "webauthn.get").reason()
          == "token_binding_invalid");
    cd.token_binding_status = "supported";
    CHECK(check_client_data(cd, p, "webauthn.get").ok());
  }
}

// -- authenticator data -------------------------------------------------------

TEST_CASE("authenticator data flags, counter and attested data parse",
          "[auth][webauthn]") {
  soft_authenticator authn;
  auto raw = authn.auth_data(rp_id, up | uv | be | bs | at, 0x01020304);
  auto ad = parse_authenticator_data(raw);
  REQUIRE(ad.ok());
  CHECK(ad->rp_id_hash == sha256(rp_id));
  CHECK(ad->flags.user_present);
  CHECK(ad->flags.user_verified);
  CHECK(ad->flags.backup_eligible);
  CHECK(ad->flags.backup_state);
  CHECK(ad->sign_count == 0x01020304);
  REQUIRE(ad->attested);
  CHECK(ad->attested->credential_id == authn.credential_id);
  CHECK(format_aaguid(ad->attested->aaguid)
        == "42424242-4242-4242-4242-424242424242");
  CHECK(ad->attested->public_key.encoded == authn.cose_key());
}

TEST_CASE("authenticator data extensions are skipped by their CBOR length",
          "[auth][webauthn]") {
  soft_authenticator authn;
  cbor_item_t* ext = cbor_new_definite_map(1);
  put(ext, cbor_build_string("credProtect"), int_item(2));
  auto ext_bytes = serialize(ext);
  auto ad = parse_authenticator_data(
      authn.auth_data(rp_id, up | at | ed, 1, ext_bytes));
  REQUIRE(ad.ok());
  CHECK(ad->extensions == ext_bytes);
  SECTION("extensions that are not a map are rejected") {
    auto bad = authn.auth_data(rp_id, up | ed, 1, bytes{0x01});
    CHECK(parse_authenticator_data(bad).reason()
          == "malformed_authenticator_data");
  }
  SECTION("trailing bytes without ED are rejected") {
    auto bad = authn.auth_data(rp_id, up, 1, bytes{0xa0});
    CHECK(parse_authenticator_data(bad).reason()
          == "malformed_authenticator_data");
  }
}

TEST_CASE("truncated authenticator data is rejected", "[auth][webauthn]") {
  soft_authenticator authn;
  auto raw = authn.auth_data(rp_id, up | at, 1);
  for (std::size_t n = 0; n < raw.size(); ++n) {
    INFO(n);
    CHECK_FALSE(parse_authenticator_data(bytes(raw.begin(), raw.begin() + n)));
  }
}

TEST_CASE("authenticator data checks report rpId, UP, UV and BS/BE",
          "[auth][webauthn]") {
  soft_authenticator authn;
  ceremony_policy p;
  p.rp_ids = {"other.example", rp_id};
  auto check = [&](std::uint8_t flags) {
    return check_authenticator_data(
               parse_authenticator_data(authn.auth_data(rp_id, flags, 0))
                   .value(),
               p)
        .reason();
  };
  CHECK(check(up).empty());
  CHECK(check(0) == "user_not_present");
  p.require_user_presence = false;
  CHECK(check(0).empty());
  p.require_user_verification = true;
  CHECK(check(up) == "user_not_verified");
  CHECK(check(up | uv | bs) == "backup_state_invalid");
  CHECK(check(up | uv | be | bs).empty());
  p.rp_ids = {"example.com"};
  CHECK(check(up | uv) == "rp_id_mismatch");
}

// -- COSE keys ----------------------------------------------------------------

TEST_CASE("COSE keys of every supported type parse", "[auth][webauthn]") {
  for (int alg : {-7, -8, -257, -37}) {
    INFO(alg);
    soft_authenticator authn{alg};
    auto key = parse_cose_key(authn.cose_key());
    REQUIRE(key.ok());
    CHECK(key->alg == alg);
    CHECK(key->encoded == authn.cose_key());
  }
}

TEST_CASE("bad COSE keys are rejected with a reason", "[auth][webauthn]") {
  CHECK(parse_cose_key(to_bytes("invalid-key")).reason()
        == "invalid_credential_public_key");
  soft_authenticator authn;
  auto good = authn.cose_key();
  auto decoded = parse_cose_key(good).value();
  auto ec2 = [&](std::int64_t crv, std::int64_t alg, bytes x, bytes y) {
    cbor_item_t* map = cbor_new_definite_map(5);
    put(map, int_item(1), int_item(2));
    put(map, int_item(3), int_item(alg));
    put(map, int_item(-1), int_item(crv));
    put(map, int_item(-2), bytes_item(x));
    put(map, int_item(-3), bytes_item(y));
    return parse_cose_key(serialize(map)).reason();
  };
  CHECK(ec2(1, -7, decoded.x, decoded.y).empty());
  CHECK(ec2(2, -7, decoded.x, decoded.y) == "invalid_credential_public_key");
  CHECK(ec2(1, -35, decoded.x, decoded.y) == "invalid_credential_public_key");
  CHECK(ec2(1, -7, bytes(31, 1), decoded.y) == "invalid_credential_public_key");
  auto off_curve = decoded.y;
  off_curve.back() ^= 1;
  CHECK(ec2(1, -7, decoded.x, off_curve) == "invalid_credential_public_key");
  CHECK(ec2(1, -47, decoded.x, decoded.y) == "unsupported_algorithm");
  SECTION("ML-DSA (kty AKP) is unsupported") {
    cbor_item_t* map = cbor_new_definite_map(3);
    put(map, int_item(1), int_item(7));
    put(map, int_item(3), int_item(-48));
    put(map, int_item(-1), bytes_item(bytes(1312, 7)));
    CHECK(parse_cose_key(serialize(map)).reason() == "unsupported_algorithm");
  }
  SECTION("trailing bytes after a stored key") {
    auto padded = good;
    padded.push_back(0);
    CHECK(parse_cose_key(padded).reason() == "invalid_credential_public_key");
  }
}

// -- registration -------------------------------------------------------------

TEST_CASE("a none and a packed self registration verify", "[auth][webauthn]") {
  for (int alg : {-7, -8, -257}) {
    for (const char* fmt : {"none", "packed"}) {
      INFO(alg << " " << fmt);
      registration_fixture f{alg};
      auto res
          = verify_registration(f.response(up | uv | be | at, fmt), f.opts);
      REQUIRE(res.ok());
      CHECK(res->fmt == fmt);
      CHECK(res->credential_id == f.authn.credential_id);
      CHECK(res->public_key == f.authn.cose_key());
      CHECK(res->alg == alg);
      CHECK(res->flags.backup_eligible);
      CHECK_FALSE(res->flags.backup_state);
      CHECK(res->transports == std::vector<std::string>{"internal", "hybrid"});
      CHECK(res->attestation
            == (std::string{fmt} == "none" ? attestation_type::none
                                           : attestation_type::self));
    }
  }
}

TEST_CASE("registration failures name the failing step", "[auth][webauthn]") {
  registration_fixture f;
  SECTION("wrong ceremony type") {
    auto cdj = make_client_data("webauthn.get", f.challenge, origin);
    CHECK(verify_registration(f.response(up | at, "none", cdj), f.opts).reason()
          == "type_mismatch");
  }
  SECTION("rawId is not the attested credential") {
    auto r = f.response();
    r.raw_id[0] ^= 1;
    CHECK(verify_registration(r, f.opts).reason() == "credential_id_mismatch");
  }
  SECTION("algorithm the RP did not offer") {
    f.opts.allowed_algorithms = {-8};
    CHECK(verify_registration(f.response(), f.opts).reason()
          == "unsupported_algorithm");
  }
  SECTION("format the RP does not accept or nobody knows") {
    f.opts.allowed_formats = {"packed"};
    CHECK(verify_registration(f.response(), f.opts).reason()
          == "unsupported_attestation_format");
    f.opts.allowed_formats.clear();
    CHECK(verify_registration(f.response(up | at, "bogus"), f.opts).reason()
          == "unsupported_attestation_format");
  }
  SECTION("no attested credential data") {
    CHECK(verify_registration(f.response(up), f.opts).reason()
          == "missing_attested_credential_data");
  }
  SECTION("packed self attestation over other data") {
    auto r = f.response(up | at, "packed");
    r.client_data_json = make_client_data("webauthn.create", f.challenge,
                                          origin, {{"extra", 1}});
    CHECK(verify_registration(r, f.opts).reason()
          == "attestation_signature_invalid");
  }
  SECTION("conditional create may omit UP when the RP says so") {
    CHECK(verify_registration(f.response(at), f.opts).reason()
          == "user_not_present");
    f.opts.require_user_presence = false;
    CHECK(verify_registration(f.response(at), f.opts).ok());
  }
  SECTION("credential IDs over 1023 bytes") {
    f.authn.credential_id = bytes(1024, 9);
    CHECK(verify_registration(f.response(), f.opts).reason()
          == "credential_id_too_long");
  }
}

// -- assertion ----------------------------------------------------------------

TEST_CASE("assertions verify for every supported algorithm",
          "[auth][webauthn]") {
  for (int alg : {-7, -8, -257, -37}) {
    INFO(alg);
    assertion_fixture f{alg};
    auto res = verify_assertion(f.response(), f.opts);
    REQUIRE(res.ok());
    CHECK(res->sign_count == 11);
    CHECK_FALSE(res->counter_regressed);
    CHECK(res->credential_id == f.authn.credential_id);
  }
}

TEST_CASE("the sign counter rule", "[auth][webauthn]") {
  assertion_fixture f;
  SECTION("both zero is accepted (synced passkeys)") {
    f.opts.credential.sign_count = 0;
    auto res = verify_assertion(f.response(0), f.opts);
    REQUIRE(res.ok());
    CHECK_FALSE(res->counter_regressed);
  }
  SECTION("a counter that does not advance is rejected by default") {
    CHECK(verify_assertion(f.response(10), f.opts).reason()
          == "counter_regression");
    CHECK(verify_assertion(f.response(0), f.opts).reason()
          == "counter_regression");
  }
  SECTION("or only reported when the caller chooses so") {
    f.opts.reject_counter_regression = false;
    auto res = verify_assertion(f.response(3), f.opts);
    REQUIRE(res.ok());
    CHECK(res->counter_regressed);
    CHECK(res->sign_count == 3);
  }
}

TEST_CASE("assertion failures name the failing step", "[auth][webauthn]") {
  assertion_fixture f;
  SECTION("signature over other data") {
    auto r = f.response();
    r.signature.back() ^= 1;
    CHECK(verify_assertion(r, f.opts).reason() == "signature_invalid");
  }
  SECTION("another credential's key") {
    f.opts.credential.public_key = soft_authenticator{}.cose_key();
    CHECK(verify_assertion(f.response(), f.opts).reason()
          == "signature_invalid");
  }
  SECTION("a corrupt stored key") {
    f.opts.credential.public_key = to_bytes("invalid-key");
    CHECK(verify_assertion(f.response(), f.opts).reason()
          == "invalid_credential_public_key");
  }
  SECTION("a different credential id") {
    auto r = f.response();
    r.raw_id[0] ^= 1;
    CHECK(verify_assertion(r, f.opts).reason() == "credential_id_mismatch");
  }
  SECTION("a user handle of another user") {
    f.opts.credential.user_handle = {1, 2, 3};
    auto r = f.response();
    r.user_handle = bytes{1, 2, 4};
    CHECK(verify_assertion(r, f.opts).reason() == "user_handle_mismatch");
    r.user_handle = bytes{1, 2, 3};
    CHECK(verify_assertion(r, f.opts).ok());
  }
  SECTION("a usernameless assertion needs a user handle") {
    f.opts.require_user_handle = true;
    auto r = f.response();
    r.user_handle.reset();
    CHECK(verify_assertion(r, f.opts).reason() == "user_handle_missing");
    f.opts.require_user_handle = false;
    CHECK(verify_assertion(r, f.opts).ok());
  }
  SECTION("user verification required") {
    f.opts.require_user_verification = true;
    CHECK(verify_assertion(f.response(11, up), f.opts).reason()
          == "user_not_verified");
  }
  SECTION("a registration-type client data") {
    auto cdj = make_client_data("webauthn.create", f.challenge, origin);
    CHECK(verify_assertion(f.response(11, up, cdj), f.opts).reason()
          == "type_mismatch");
  }
  SECTION("an algorithm the RP no longer accepts") {
    f.opts.allowed_algorithms = {-8};
    CHECK(verify_assertion(f.response(), f.opts).reason()
          == "unsupported_algorithm");
  }
}
