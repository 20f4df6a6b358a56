#include "http/message.hpp"

#include <algorithm>
#include <cctype>

namespace authsvc::http {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

std::string_view request::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name))
      return h.value;
  return {};
}

bool request::has_header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name))
      return true;
  return false;
}

std::string_view request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view request::query() const {
  std::string_view t = target;
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

void response::set_header(std::string name, std::string value) {
  for (auto& h : headers)
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  headers.push_back({std::move(name), std::move(value)});
}

std::string_view response::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name))
      return h.value;
  return {};
}

void response::remove_header(std::string_view name) {
  headers.erase(std::remove_if(headers.begin(), headers.end(),
                               [&](const header_field& h) {
                                 return iequals(h.name, name);
                               }),
                headers.end());
}

responder::~responder() {
  if (cb_) {
    response r;
    r.status = 503;
    r.set_header("Content-Type", "application/json; charset=utf-8");
    r.body
        = R"({"error":{"code":"service_unavailable","message":"the service could not answer this request","request_id":""}})";
    r.close = true;
    auto cb = std::move(cb_);
    cb_ = nullptr;
    cb(std::move(r));
  }
}

void responder::reply(response&& r) {
  if (!cb_)
    return;
  auto cb = std::move(cb_);
  cb_ = nullptr;
  cb(std::move(r));
}

} // namespace authsvc::http
