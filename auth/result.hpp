#pragma once
// The service's one result type: a value or a typed error. Every domain
// (request checks, sessions, email flows, passkeys, TOTP, admin, store)
// names its failures in its own enum; `error` carries any of them with the
// domain, so one table (front/error_table.cpp) can map each value to an HTTP
// status and api.md code, and a value missing from that table fails the build
// (-Werror=switch) rather than becoming a silent 500. Free of CAF so auth/
// and db/ can use it; enums that cross actors are also registered with CAF
// (CAF_ERROR_CODE_ENUM, see actors/caf_errors.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace authsvc {

/// The family an error code belongs to. Numbers are stable (they cross nodes).
enum class error_domain : std::uint8_t {
  request = 1,  ///< malformed input, auth headers, CORS (request_errc)
  session = 2,  ///< tokens and sessions (session_errc)
  email = 3,    ///< magic links, codes, handover (email_errc)
  passkey = 4,  ///< WebAuthn ceremonies (passkey_errc)
  webauthn = 5, ///< protocol-level WebAuthn checks (auth::webauthn::errc)
  totp = 6,     ///< TOTP and recovery codes (totp_errc)
  admin = 7,    ///< the admin API (admin_errc)
  store = 8,    ///< the database (store_errc)
};

/// Which domain an enum belongs to; specialised by AUTHSVC_ERROR_ENUM.
template <class E>
struct error_domain_of;

/// Declares enum `E` (at global scope) as the error enum of domain `D`.
#define AUTHSVC_ERROR_ENUM(E, D)                                               \
  template <>                                                                  \
  struct authsvc::error_domain_of<E> {                                         \
    static constexpr ::authsvc::error_domain value = D;                        \
  };

/// A typed error: domain, code and a detail for logs (never for clients).
class error {
public:
  error() = default;

  /// From raw parts (an error that crossed a node boundary).
  error(error_domain domain, std::uint8_t code, std::string detail = {})
      : domain_(domain), code_(code), detail_(std::move(detail)) {}

  template <class E, class = decltype(error_domain_of<E>::value)>
  error(E code, std::string detail = {})
      : domain_(error_domain_of<E>::value),
        code_(static_cast<std::uint8_t>(code)),
        detail_(std::move(detail)) {}

  error_domain domain() const noexcept { return domain_; }
  std::uint8_t code() const noexcept { return code_; }
  const std::string& detail() const noexcept { return detail_; }

  /// True when this is value `e` of its enum.
  template <class E>
  bool is(E e) const noexcept {
    return domain_ == error_domain_of<E>::value
           && code_ == static_cast<std::uint8_t>(e);
  }

  /// The code as enum `E`, when the error belongs to E's domain.
  template <class E>
  std::optional<E> as() const noexcept {
    if (domain_ != error_domain_of<E>::value)
      return std::nullopt;
    return static_cast<E>(code_);
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, error& x) {
    return f(x.domain_, x.code_, x.detail_);
  }

private:
  error_domain domain_ = error_domain::store;
  std::uint8_t code_ = 0;
  std::string detail_;
};

/// A value of type T or an error of type E: the one result template of the
/// service. `result<T>` (below) carries an authsvc::error; auth/webauthn and
/// mail/ instantiate it with their own richer error types (a failure with
/// its reason, a mail error with its message) instead of keeping their own.
template <class T, class E>
class basic_result {
public:
  basic_result(T value) : data_(std::move(value)) {}
  basic_result(E err) : data_(std::move(err)) {}
  /// From a code and a detail, for error types built that way.
  template <class C, class = std::enable_if_t<
                         std::is_enum_v<C>
                         && std::is_constructible_v<E, C, std::string>>>
  basic_result(C code, std::string detail = {})
      : data_(E(code, std::move(detail))) {}

  bool ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// The value. @pre ok()
  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The error. @pre !ok()
  const E& err() const { return std::get<1>(data_); }

  /// The error's reason, or "" on success (for error types that name one).
  std::string_view reason() const {
    return ok() ? std::string_view{} : err().reason();
  }

private:
  std::variant<T, E> data_;
};

/// A value of type T or a typed error.
template <class T>
using result = basic_result<T, error>;

/// The value of an operation that yields nothing but success.
struct done {};

} // namespace authsvc
