#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "auth/basp_guard.hpp"

using namespace authsvc::auth;

namespace {

using bytes = std::vector<std::uint8_t>;

/// One BASP 0.17 frame header: operation, two padding bytes, flags,
/// payload length (big endian), then 24 bytes of operation data and actor
/// ids that the guard does not read.
bytes header(basp::operation op, std::uint32_t len) {
  bytes h(basp::header_size, 0);
  h[0] = static_cast<std::uint8_t>(op);
  h[4] = static_cast<std::uint8_t>(len >> 24);
  h[5] = static_cast<std::uint8_t>(len >> 16);
  h[6] = static_cast<std::uint8_t>(len >> 8);
  h[7] = static_cast<std::uint8_t>(len);
  return h;
}

bytes frame(basp::operation op, std::uint32_t len) {
  auto f = header(op, len);
  f.resize(f.size() + len, 0xab);
  return f;
}

bytes concat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

basp_verdict feed_all(basp_guard& g, const bytes& b) {
  return g.feed(b.data(), b.size());
}

constexpr std::uint32_t limit = 1024 * 1024;

} // namespace

TEST_CASE("a header that claims more than the limit is refused at once",
          "[auth][basp]") {
  SECTION("as the first frame (the 1 GiB attack before any handshake)") {
    basp_guard g{limit};
    auto h = header(basp::operation::client_handshake, 1u << 30);
    CHECK(feed_all(g, h) == basp_verdict::too_large);
  }
  SECTION("after the handshake, one byte over the limit") {
    basp_guard g{limit};
    CHECK(feed_all(g, frame(basp::operation::client_handshake, 28))
          == basp_verdict::handshake_ready);
    CHECK(feed_all(g, header(basp::operation::direct_message, limit + 1))
          == basp_verdict::too_large);
  }
  SECTION("exactly the limit passes, and its payload is not held") {
    basp_guard g{limit};
    CHECK(feed_all(g, frame(basp::operation::client_handshake, 28))
          == basp_verdict::handshake_ready);
    CHECK(feed_all(g, frame(basp::operation::direct_message, limit))
          == basp_verdict::pass);
    CHECK(g.handshake_payload().size() == 28);
  }
}

TEST_CASE("frames are tracked across any split of the stream", "[auth][basp]") {
  auto stream = concat({frame(basp::operation::client_handshake, 28),
                        frame(basp::operation::direct_message, 100),
                        frame(basp::operation::heartbeat, 0),
                        frame(basp::operation::monitor_message, 5),
                        header(basp::operation::direct_message, limit + 7)});
  for (std::size_t chunk : {1u, 3u, 31u, 32u, 33u, 4096u}) {
    basp_guard g{limit};
    basp_verdict last = basp_verdict::pass;
    int ready = 0;
    for (std::size_t i = 0; i < stream.size(); i += chunk) {
      auto n = std::min(chunk, stream.size() - i);
      last = g.feed(stream.data() + i, n);
      if (last == basp_verdict::handshake_ready)
        ++ready;
      if (last == basp_verdict::too_large
          || last == basp_verdict::bad_operation)
        break;
    }
    INFO("chunk " << chunk);
    // A chunk that completes the handshake and also holds the refused
    // header reports the refusal only: the connection closes either way.
    CHECK(ready == (chunk >= stream.size() ? 0 : 1));
    CHECK(last == basp_verdict::too_large);
    CHECK(g.frames() == 5);
    CHECK(g.handshake_payload() == bytes(28, 0xab));
  }
}

TEST_CASE("a client may only send what a direct CAF client sends",
          "[auth][basp]") {
  SECTION("the first frame must be a client handshake") {
    for (auto op :
         {basp::operation::server_handshake, basp::operation::direct_message,
          basp::operation::routed_message, basp::operation::heartbeat}) {
      basp_guard g{limit};
      CHECK(feed_all(g, frame(op, 10)) == basp_verdict::bad_operation);
    }
    basp_guard empty{limit};
    CHECK(feed_all(empty, frame(basp::operation::client_handshake, 0))
          == basp_verdict::bad_operation);
    basp_guard huge{limit};
    CHECK(feed_all(huge, header(basp::operation::client_handshake,
                                defaults::basp_max_handshake_bytes + 1))
          == basp_verdict::bad_operation);
  }
  SECTION("a repeated handshake is captured again, within the same cap") {
    basp_guard g{limit};
    REQUIRE(feed_all(g, frame(basp::operation::client_handshake, 28))
            == basp_verdict::handshake_ready);
    auto again = frame(basp::operation::client_handshake, 30);
    again.back() = 0x01;
    CHECK(feed_all(g, again) == basp_verdict::handshake_ready);
    CHECK(g.handshake_payload().size() == 30);
    CHECK(g.handshake_payload().back() == 0x01);
    CHECK(feed_all(g, header(basp::operation::client_handshake,
                             defaults::basp_max_handshake_bytes + 1))
          == basp_verdict::bad_operation);
  }
  SECTION("no server handshake, no routed message, no unknown operation") {
    for (std::uint8_t op : {0x00, 0x03, 0x07, 0xff}) {
      basp_guard g{limit};
      REQUIRE(feed_all(g, frame(basp::operation::client_handshake, 28))
              == basp_verdict::handshake_ready);
      CHECK(feed_all(g, frame(static_cast<basp::operation>(op), 4))
            == basp_verdict::bad_operation);
    }
  }
}
