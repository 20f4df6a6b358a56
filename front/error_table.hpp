#pragma once
// The one table from typed errors to api.md codes (and through status_for to
// HTTP statuses). Each domain enum has a switch with a case for every value
// and no default, and this file is compiled with -Werror=switch: a value
// added to an enum without a row here fails the build instead of becoming a
// silent 500. tests/unit/error_table_test.cpp checks every row names a code
// of the api.md table.
#include <string_view>

#include "auth/result.hpp"
#include "front/errors.hpp"

namespace authsvc::http {

/// The api.md code for `e` ("internal_error" for a number no enum has,
/// e.g. from a newer node).
std::string_view api_code(const error& e);

/// The error answer for `e`: its code, the table's status and message.
api_error to_api_error(const error& e);

} // namespace authsvc::http
