#pragma once
// QR codes as self-contained SVG (for the TOTP enrolment screen).
#include <optional>
#include <string>
#include <string_view>

namespace authsvc::auth {

/// Renders `text` as a QR code (libqrencode QRcode_encodeString, error
/// correction level M) in a standalone SVG: a white background rect and one
/// black <path>, a viewBox in module units, `quiet_zone` blank modules around
/// the symbol (4 is what ISO/IEC 18004 asks for) and no external references,
/// scripts or text, so it is safe to inline in a page.
/// @param module_px pixel size of one module for the width/height attributes.
/// @returns nullopt if `text` contains a NUL byte or is too long to encode.
std::optional<std::string> qr_svg(std::string_view text, int quiet_zone = 4,
                                  int module_px = 6);

} // namespace authsvc::auth
