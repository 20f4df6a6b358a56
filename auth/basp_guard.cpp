#include "auth/basp_guard.hpp"

#include <algorithm>

namespace authsvc::auth {

std::string_view to_string(basp_verdict v) noexcept {
  switch (v) {
  case basp_verdict::pass:
    return "pass";
  case basp_verdict::handshake_ready:
    return "handshake_ready";
  case basp_verdict::too_large:
    return "too_large";
  case basp_verdict::bad_operation:
    return "bad_operation";
  }
  return "unknown";
}

basp_verdict basp_guard::on_header() {
  ++frames_;
  std::uint32_t len = 0;
  for (std::size_t i = 0; i < 4; ++i)
    len = (len << 8) | header_[basp::payload_len_offset + i];
  last_len_ = len;
  if (len > max_payload_)
    return basp_verdict::too_large;
  auto op = static_cast<basp::operation>(header_[0]);
  switch (op) {
  case basp::operation::client_handshake:
    // CAF 0.17 clients may repeat their handshake (CAF ignores the
    // second); each one is captured so the gate can check that the node
    // id stays the same.
    if (len == 0 || len > defaults::basp_max_handshake_bytes)
      return basp_verdict::bad_operation;
    in_handshake_ = true;
    handshake_.clear();
    handshake_.reserve(len);
    break;
  case basp::operation::direct_message:
  case basp::operation::monitor_message:
  case basp::operation::down_message:
  case basp::operation::heartbeat:
    // The first frame of a client is its handshake; anything else is not
    // a CAF client.
    if (!handshake_done_)
      return basp_verdict::bad_operation;
    break;
  default:
    return basp_verdict::bad_operation;
  }
  payload_left_ = len;
  return basp_verdict::pass;
}

basp_verdict basp_guard::feed(const std::uint8_t* data, std::size_t n) {
  auto result = basp_verdict::pass;
  while (n > 0) {
    if (payload_left_ > 0) {
      auto take
          = static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, n));
      if (in_handshake_)
        handshake_.insert(handshake_.end(), data, data + take);
      payload_left_ -= take;
      data += take;
      n -= take;
      if (payload_left_ == 0 && in_handshake_) {
        in_handshake_ = false;
        handshake_done_ = true;
        result = basp_verdict::handshake_ready;
      }
      continue;
    }
    auto take = std::min(basp::header_size - header_fill_, n);
    std::copy(data, data + take, header_ + header_fill_);
    header_fill_ += take;
    data += take;
    n -= take;
    if (header_fill_ == basp::header_size) {
      header_fill_ = 0;
      if (auto v = on_header(); v != basp_verdict::pass)
        return v;
    }
  }
  return result;
}

} // namespace authsvc::auth
