#pragma once
// Random identifiers for rows (users, sessions, flows, jobs).
#include <string>

namespace authsvc::auth {

/// A random RFC 9562 version 4 UUID in canonical lower-case form. Ids are
/// public (they appear in URLs and tokens), so they carry no meaning and
/// cannot be enumerated.
std::string uuid_v4();

} // namespace authsvc::auth
