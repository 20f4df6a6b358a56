#include "actors/lease_owner.hpp"

#include <unistd.h>

#include "auth/ids.hpp"

namespace authsvc {

std::string lease_owner_token() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0)
    host[0] = '\0';
  return std::string(host) + ":" + std::to_string(getpid()) + ":"
         + auth::uuid_v4().substr(0, 8);
}

} // namespace authsvc
