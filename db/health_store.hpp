#pragma once
// The readiness probe's trivial read: the database answers at all.
#include "db/value.hpp"

namespace authsvc::db::health_store {

/// A statement that reads one constant row and touches no table.
statement ping();

} // namespace authsvc::db::health_store
