#pragma once
// Who holds a lease on shared work (mail jobs, webhook deliveries): a token
// per process, written into the rows it claims, so that a process hands back
// or reschedules only work it still holds and an operator can tell which
// node has a row. Host and pid say where; the random part tells apart a
// restarted process that got the same pid.
#include <string>

namespace authsvc {

/// "host:pid:8 hex digits", new on every call.
std::string lease_owner_token();

} // namespace authsvc
