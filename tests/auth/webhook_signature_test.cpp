#include <catch2/catch.hpp>

#include "auth/webhook_signature.hpp"

using namespace authsvc::auth;

namespace {

// The example published with the Standard Webhooks reference libraries
// (standard-webhooks/standard-webhooks, libraries/*/tests: "test sign
// function"). Reproducing it is what proves receivers' libraries accept us.
constexpr std::string_view spec_secret
    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view spec_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t spec_timestamp = 1614265330;
constexpr std::string_view spec_body = R"({"test": 2432232314})";
constexpr std::string_view spec_signature
    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

} // namespace

TEST_CASE("signing reproduces the standard webhooks example",
          "[auth][webhook]") {
  CHECK(sign_webhook(spec_secret, spec_id, spec_timestamp, spec_body)
        == spec_signature);
  // The prefix is optional, as in the reference libraries.
  CHECK(sign_webhook(spec_secret.substr(6), spec_id, spec_timestamp, spec_body)
        == spec_signature);
}

TEST_CASE("signing agrees with an independent hmac computation",
          "[auth][webhook]") {
  // Computed with /usr/bin/python3:
  //   base64.b64encode(hmac.new(b"0123456789abcdef0123456789abcdef",
  //     b'msg_2Lh9KsQkPq.1700000000.{"type":"user.created",...}',
  //     hashlib.sha256).digest())
  auto sig = sign_webhook(
      "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "msg_2Lh9KsQkPq",
      1700000000, R"({"type":"user.created","data":{"id":"u_1"}})");
  CHECK(sig == "v1,sQgfJGbl14m7CrEh1bnHljJId/kiUJCVZvvSWSU1IGQ=");
}

TEST_CASE("verification accepts any one of several signatures",
          "[auth][webhook]") {
  auto verify = [](std::string_view header, std::int64_t now = spec_timestamp) {
    return verify_webhook(spec_secret, spec_id, spec_timestamp, spec_body,
                          header, now);
  };
  CHECK(verify(spec_signature) == webhook_verify_result::ok);
  CHECK(verify("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
               "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "
               + std::string(spec_signature)
               + " v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
        == webhook_verify_result::ok);
  // A v2 entry with the right bytes does not count as v1.
  CHECK(verify("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        == webhook_verify_result::no_matching_signature);
  CHECK(verify("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=")
        == webhook_verify_result::no_matching_signature);
  CHECK(verify("") == webhook_verify_result::no_matching_signature);
  CHECK(verify("v1,") == webhook_verify_result::no_matching_signature);
  CHECK(verify_webhook(spec_secret, spec_id, spec_timestamp,
                       R"({"test": 2432232315})", spec_signature,
                       spec_timestamp)
        == webhook_verify_result::no_matching_signature);
  CHECK(verify_webhook(spec_secret, "msg_other", spec_timestamp, spec_body,
                       spec_signature, spec_timestamp)
        == webhook_verify_result::no_matching_signature);
}

TEST_CASE("verification enforces the timestamp tolerance", "[auth][webhook]") {
  auto at = [](std::int64_t now) {
    return verify_webhook(spec_secret, spec_id, spec_timestamp, spec_body,
                          spec_signature, now);
  };
  CHECK(at(spec_timestamp + 300) == webhook_verify_result::ok);
  CHECK(at(spec_timestamp - 300) == webhook_verify_result::ok);
  CHECK(at(spec_timestamp + 301) == webhook_verify_result::timestamp_too_old);
  CHECK(at(spec_timestamp - 301) == webhook_verify_result::timestamp_too_new);
}

TEST_CASE("webhook secrets are generated and decoded", "[auth][webhook]") {
  auto secret = generate_webhook_secret();
  CHECK(secret.rfind("whsec_", 0) == 0);
  auto key = decode_webhook_secret(secret);
  REQUIRE(key);
  CHECK(key->size() == 32);
  CHECK(secret != generate_webhook_secret());
  CHECK_FALSE(decode_webhook_secret("whsec_"));
  CHECK_FALSE(decode_webhook_secret("whsec_not base64!"));
  CHECK_FALSE(sign_webhook("whsec_***", "id", 1, "{}"));
  CHECK(verify_webhook("whsec_***", "id", 1, "{}", "v1,x", 1)
        == webhook_verify_result::invalid_secret);
}
