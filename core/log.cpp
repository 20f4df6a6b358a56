#include "core/log.hpp"

#include <chrono>
#include <ctime>

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace authsvc::log {

namespace {

bool json_format = true;
std::shared_ptr<spdlog::logger> logger;

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

} // namespace

void init(const std::string& level, const std::string& format) {
  json_format = format != "text";
  if (!logger) {
    spdlog::init_thread_pool(16384, 1);
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    // Block rather than drop: losing an audit-relevant log line silently is
    // worse than a short stall under a log flood.
    logger = std::make_shared<spdlog::async_logger>(
        "authsvc", sink, spdlog::thread_pool(),
        spdlog::async_overflow_policy::block);
    logger->set_pattern("%v");
    spdlog::set_default_logger(logger);
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::warn);
}

void shutdown() {
  if (logger)
    logger->flush();
  spdlog::shutdown();
  logger.reset();
}

bool enabled(spdlog::level::level_enum lvl) {
  return logger ? logger->should_log(lvl) : lvl >= spdlog::level::info;
}

namespace {

void write(spdlog::level::level_enum lvl, spdlog::level::level_enum filter_as,
           std::string_view component, std::string_view event_id,
           const nlohmann::json& fields);

} // namespace

void event(spdlog::level::level_enum lvl, std::string_view component,
           std::string_view event_id, const nlohmann::json& fields) {
  if (!enabled(lvl))
    return;
  write(lvl, lvl, component, event_id, fields);
}

void always(std::string_view component, std::string_view event_id,
            const nlohmann::json& fields) {
  write(spdlog::level::info, spdlog::level::critical, component, event_id,
        fields);
}

namespace {

void write(spdlog::level::level_enum lvl, spdlog::level::level_enum filter_as,
           std::string_view component, std::string_view event_id,
           const nlohmann::json& fields) {
  std::string line;
  if (json_format) {
    nlohmann::json j = nlohmann::json::object();
    j["ts"] = timestamp();
    auto lv = spdlog::level::to_string_view(lvl);
    j["level"] = std::string(lv.data(), lv.size());
    j["component"] = component;
    j["event"] = event_id;
    if (fields.is_object())
      for (auto it = fields.begin(); it != fields.end(); ++it)
        j[it.key()] = it.value();
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    auto lv = spdlog::level::to_string_view(lvl);
    line = timestamp() + " " + std::string(lv.data(), lv.size()) + " "
           + std::string(component) + " " + std::string(event_id);
    if (fields.is_object())
      for (auto it = fields.begin(); it != fields.end(); ++it)
        line += " " + it.key() + "="
                + (it->is_string()
                       ? it->get<std::string>()
                       : it->dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace));
  }
  if (logger)
    logger->log(filter_as, "{}", line);
  else
    std::fprintf(stderr, "%s\n", line.c_str());
}

} // namespace

} // namespace authsvc::log
