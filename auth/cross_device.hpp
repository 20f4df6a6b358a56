#pragma once
// Cross-device email sign-in (security review #11, Medium 4). A magic link
// signs in the browser that opens it. Handing the session to the device that
// started the flow instead needs an explicit approval on the confirmation
// page with number matching: the starter is shown a 2-digit number, the page
// asks which of three numbers it shows (one right, two decoys). Someone who
// started a flow for another person's address cannot make that person's
// plain click sign the attacker in, and a person who approves blindly picks
// the right number only by luck (1 in 3), and a wrong pick burns the flow.
//
// Also here: how request details written by the requester (the User-Agent)
// are shown in mails and pages.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authsvc::auth {

/// The number a starting device shows: uniform in [10, 99], so it always
/// has two digits.
int generate_match_number();

/// The three numbers the approving page offers, in the order shown: `number`
/// and two distinct decoys from [10, 99], shuffled uniformly. Made once per
/// flow and stored, so reloading the page cannot reveal the right one by
/// elimination.
/// @pre 10 <= number <= 99.
std::array<int, 3> make_match_choices(int number);

/// "42,17,88" for storage.
std::string encode_match_choices(const std::array<int, 3>& choices);

/// Parses encode_match_choices' output; nullopt for anything else.
std::optional<std::array<int, 3>> decode_match_choices(std::string_view text);

/// The longest User-Agent text shown in a mail or page.
constexpr std::size_t display_user_agent_max = 100;

/// Requester-controlled text (the User-Agent) made fit to show in a mail or
/// page: only printable ASCII is kept (control characters, tabs and other
/// whitespace become one space; non-ASCII bytes, which could hide bidi
/// overrides or look-alike letters, are dropped), runs of spaces collapse,
/// both ends are trimmed, and text longer than `max` is cut to `max`
/// characters ending in "...".
/// @pre max >= 4.
std::string display_user_agent(std::string_view text,
                               std::size_t max = display_user_agent_max);

} // namespace authsvc::auth
