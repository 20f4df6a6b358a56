#pragma once
// The supervisor's typed handle, apart from actors/supervisor.hpp so that
// services.hpp can hold it (the supervisor itself holds a services snapshot).
#include <string>

#include "actors/type_ids.hpp"

namespace authsvc {

using supervisor_actor = caf::typed_actor<
    /// The table of top-level actors (/health `checks`).
    caf::replies_to<atom::status_atom>::with<supervision_report>,
    /// Fault injection (admin.fault_injection only, front/fault_routes.cpp):
    /// kills the named top-level actor as a crash would. Answers false for
    /// an unknown name.
    caf::replies_to<atom::kill_atom, std::string>::with<bool>>;

} // namespace authsvc
