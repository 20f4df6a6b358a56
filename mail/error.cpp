#include "mail/error.hpp"

namespace authsvc::mail {

const char* to_string(errc code) {
  switch (code) {
  case errc::template_invalid:
    return "template_invalid";
  case errc::unknown_message:
    return "unknown_message";
  case errc::missing_variable:
    return "missing_variable";
  case errc::invalid_header:
    return "invalid_header";
  case errc::invalid_address:
    return "invalid_address";
  case errc::invalid_utf8:
    return "invalid_utf8";
  case errc::invalid_message_id:
    return "invalid_message_id";
  case errc::io_error:
    return "io_error";
  }
  return "unknown";
}

} // namespace authsvc::mail
