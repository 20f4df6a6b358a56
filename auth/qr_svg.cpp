#include "auth/qr_svg.hpp"

#include <memory>

#include <qrencode.h>

namespace authsvc::auth {

namespace {

struct qrcode_deleter {
  void operator()(QRcode* p) const { QRcode_free(p); }
};

} // namespace

std::optional<std::string> qr_svg(std::string_view text, int quiet_zone,
                                  int module_px) {
  // libqrencode takes a C string, so an embedded NUL would silently truncate.
  if (text.find('\0') != std::string_view::npos)
    return std::nullopt;
  if (quiet_zone < 0)
    quiet_zone = 0;
  if (module_px < 1)
    module_px = 1;
  std::string input{text};
  std::unique_ptr<QRcode, qrcode_deleter> qr{
      QRcode_encodeString(input.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1)};
  if (!qr)
    return std::nullopt;
  const int width = qr->width;
  const int size = width + 2 * quiet_zone;
  const auto px = std::to_string(size * module_px);
  const auto vb = std::to_string(size);
  std::string svg;
  svg.reserve(static_cast<std::size_t>(width * width) * 4 + 256);
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"";
  svg += px + "\" height=\"" + px + "\" viewBox=\"0 0 " + vb + " " + vb;
  svg += "\" shape-rendering=\"crispEdges\">";
  svg += "<rect width=\"" + vb + "\" height=\"" + vb + "\" fill=\"#fff\"/>";
  svg += "<path fill=\"#000\" d=\"";
  // One subpath per horizontal run of dark modules keeps the path short.
  for (int y = 0; y < width; ++y) {
    const unsigned char* row = qr->data + static_cast<std::size_t>(y * width);
    for (int x = 0; x < width;) {
      // Bit 0 of each libqrencode module byte is "dark".
      if (!(row[x] & 1)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < width && (row[x + run] & 1))
        ++run;
      svg += 'M';
      svg += std::to_string(x + quiet_zone);
      svg += ' ';
      svg += std::to_string(y + quiet_zone);
      svg += 'h';
      svg += std::to_string(run);
      svg += "v1h-";
      svg += std::to_string(run);
      svg += 'z';
      x += run;
    }
  }
  svg += "\"/></svg>";
  return svg;
}

} // namespace authsvc::auth
