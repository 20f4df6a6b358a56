#pragma once
// Which language an email is written in. The service supports a fixed set of
// languages; every other tag a client sends is mapped onto that set here.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc::mail {

/// The language tags we ship templates for, in their canonical spelling:
/// `en`, `de`, `fr`, `es`, `pt-BR`, `ja`.
const std::vector<std::string>& supported_locales();

/// Maps one language tag onto a supported locale. Case and `_` vs `-` do not
/// matter; a region we lack falls back to the bare language (`de-AT` → `de`),
/// and every Portuguese tag (`pt`, `pt_br`, `pt-PT`) maps to `pt-BR`, the only
/// Portuguese we have.
/// @returns the canonical supported tag, or nullopt if none fits.
std::optional<std::string> match_locale(std::string_view tag);

/// One entry of an Accept-Language header.
struct language_range {
  /// The range as sent, e.g. `de-CH` or `*`.
  std::string range;
  /// Its weight in [0, 1]; 0 means "not acceptable".
  double q = 1.0;
};

/// Parses an Accept-Language header (RFC 9110 §12.5.4), dropping malformed
/// entries rather than failing: the header comes from any client.
/// @returns ranges sorted by descending q, ties in header order; entries with
///          q = 0 are kept so that callers can see the exclusion.
std::vector<language_range> parse_accept_language(std::string_view header);

/// Picks the language of an email, first fit wins:
/// the locale the request named, the user's stored locale, the best
/// Accept-Language match with q > 0, `default_locale`, and finally `en`.
/// Empty arguments are skipped.
/// @returns a member of `supported_locales()`.
std::string choose_locale(std::string_view request_locale,
                          std::string_view user_locale,
                          std::string_view accept_language,
                          std::string_view default_locale);

} // namespace authsvc::mail
