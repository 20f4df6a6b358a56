#pragma once
// Structured logging over spdlog. Every line carries a stable kebab-case
// event id and key/value fields; in JSON mode (the default) a line is one
// JSON object, in text mode `event key=value ...`. Callers pass only
// non-secret values: there is deliberately no "log the request body" helper.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace authsvc::log {

/// Sets up the process-wide sinks: stderr, JSON or text, at `level`.
/// Logging is asynchronous (a bounded queue drained by one thread), so a
/// request handler never waits on the terminal.
void init(const std::string& level, const std::string& format);

/// Flushes and stops the async logger (call before exit).
void shutdown();

/// Emits one event from `component` (e.g. "http", "db", "mailer").
void event(spdlog::level::level_enum lvl, std::string_view component,
           std::string_view event_id, const nlohmann::json& fields = {});

inline void info(std::string_view c, std::string_view e,
                 const nlohmann::json& f = {}) {
  event(spdlog::level::info, c, e, f);
}
inline void warn(std::string_view c, std::string_view e,
                 const nlohmann::json& f = {}) {
  event(spdlog::level::warn, c, e, f);
}
inline void error(std::string_view c, std::string_view e,
                  const nlohmann::json& f = {}) {
  event(spdlog::level::err, c, e, f);
}
inline void debug(std::string_view c, std::string_view e,
                  const nlohmann::json& f = {}) {
  event(spdlog::level::debug, c, e, f);
}

/// An info event written whatever the level (start-up facts such as the
/// bound port, which tools read even when the log is turned down).
void always(std::string_view component, std::string_view event_id,
            const nlohmann::json& fields = {});

/// True when events at `lvl` are written (skip building fields otherwise).
bool enabled(spdlog::level::level_enum lvl);

} // namespace authsvc::log
