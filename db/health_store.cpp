#include "db/health_store.hpp"

namespace authsvc::db::health_store {

statement ping() {
  return stmt("SELECT 1");
}

} // namespace authsvc::db::health_store
