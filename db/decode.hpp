#pragma once
// Small pieces the stores share when they bind or decode nullable columns.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/value.hpp"

namespace authsvc::db {

/// A text parameter that is NULL when `s` is empty.
inline value text_or_null(const std::string& s) {
  return s.empty() ? value::null() : value::text(s);
}

/// An integer parameter that is NULL when `x` is empty.
inline value int_or_null(const std::optional<std::int64_t>& x) {
  return x ? value::integer(*x) : value::null();
}

/// A nullable text column.
inline std::optional<std::string> opt_text(const value& v) {
  if (v.is_null())
    return std::nullopt;
  return v.s;
}

/// A nullable integer column.
inline std::optional<std::int64_t> opt_int(const value& v) {
  if (v.is_null())
    return std::nullopt;
  return v.i;
}

/// `row(rs, i)` for every row of `rs`, in order.
template <class F>
auto decode_rows(const rowset& rs, F row) {
  std::vector<decltype(row(rs, std::size_t{0}))> out;
  out.reserve(rs.rows.size());
  for (std::size_t i = 0; i < rs.rows.size(); ++i)
    out.push_back(row(rs, i));
  return out;
}

} // namespace authsvc::db
