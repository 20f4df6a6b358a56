#pragma once
// Email templates: one subject, plain-text body and HTML body per message kind
// and language, rendered with mustache. A template_set is loaded and checked
// once at start-up so that a broken template stops the service from starting
// instead of failing the first email that needs it.
//
// Layout (embedded from templates/email/, or an operator folder laid out the
// same way): <message>/<lang>.subject.txt, <lang>.txt, <lang>.html.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/embedded.hpp"
#include "mail/error.hpp"

namespace authsvc::mail {

/// One message kind and the variables its templates may reference.
struct message_spec {
  /// Folder name, e.g. `sign_in`.
  std::string name;
  /// Variables every render must supply (scalars, not null).
  std::vector<std::string> required;
  /// Variables a render may supply; templates show them in sections.
  std::vector<std::string> optional;
};

/// The message kinds the service sends:
/// - `sign_in`: app_name, link, code, lifetime_minutes, ip; opt. device
/// - `passkey_added`: app_name, passkey_name, time, ip; opt. device, manage_url
/// - `totp_enabled`: app_name, time, ip; opt. device, manage_url
/// - `sessions_revoked`: app_name, time, count; opt. ip, device
/// - `account_deleted`: app_name, email, time
/// - `email_change_confirm`: app_name, link, code, lifetime_minutes, ip;
///   opt. device (to the new address)
/// - `email_change_notice`: app_name, new_email, cancel_link, time, ip;
///   opt. device (to the old address)
/// - `email_in_use`: app_name, time, ip; opt. device (to the owner of an
///   address another account asked for)
/// - `session_evicted`: app_name, time, count, limit; opt. ip, device (of
///   the sign-in that went over auth.session_max_per_user)
/// Every message also takes an optional `display_name` for the greeting.
/// `time` is preformatted by the caller (e.g. "2025-03-01 14:05 UTC").
const std::vector<message_spec>& message_specs();

/// The three rendered parts of one email.
struct rendered {
  /// One line, no CR/LF.
  std::string subject;
  /// Plain-text body, LF line endings, user data inserted verbatim.
  std::string text;
  /// HTML body, LF line endings, every variable HTML-escaped.
  std::string html;
};

/// A validated set of templates for every message × supported language.
/// Immutable after loading, so one instance may be shared across threads.
class template_set {
public:
  // -- constructors ----------------------------------------------------------

  /// Loads the templates compiled into the binary (templates/email/).
  static result<template_set> load_embedded();

  /// Loads an operator folder that holds `<message>/<lang>.<part>` files.
  /// The folder must be complete: every message × language × part.
  static result<template_set> load_directory(const std::string& dir);

  /// Loads from in-memory files whose paths are relative to the email root
  /// (`sign_in/en.html`). Used by the other two and by tests.
  /// @returns every problem found, joined by "; ", as one `template_invalid`.
  static result<template_set>
  load_files(const std::vector<embedded::file>& files);

  // -- rendering -------------------------------------------------------------

  /// Renders `message` in `locale` (a member of `supported_locales()`; other
  /// tags go through `match_locale`, then fall back to `en`).
  /// @param vars a JSON object; strings, numbers and booleans are used, null
  ///        counts as absent. Values are escaped for HTML in the HTML part and
  ///        inserted verbatim in the text part; CR, LF and other controls are
  ///        replaced by spaces in the subject.
  result<rendered> render(std::string_view message, std::string_view locale,
                          const nlohmann::json& vars) const;

private:
  // -- member types ----------------------------------------------------------

  /// The three parts parsed once (mail/template_set.cpp).
  struct compiled_parts;

  struct parts {
    std::string subject;
    std::string text;
    std::string html;
    /// Parsed at load: a mail renders without parsing its templates again
    /// (parsing was ~13% of the service's CPU under email-start load).
    std::shared_ptr<compiled_parts> compiled;
  };

  // -- member variables ------------------------------------------------------

  /// Keyed by "<message>/<lang>".
  std::map<std::string, parts> templates_;
};

} // namespace authsvc::mail
