#include "core/metrics_registry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace authsvc::metrics {

namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

std::string label_block(const std::vector<std::string>& names,
                        const std::vector<std::string>& values,
                        const std::string& extra = {}) {
  if (names.empty() && extra.empty())
    return {};
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i)
      out += ',';
    out += names[i] + "=\"" + escape_label(values[i]) + "\"";
  }
  if (!extra.empty()) {
    if (!names.empty())
      out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

} // namespace

std::vector<double> http_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

void registry::declare(const std::string& name, family_type type,
                       const std::string& help,
                       std::vector<std::string> label_names,
                       std::vector<double> buckets) {
  auto& f = families_[name];
  f.type = type;
  f.help = help;
  f.label_names = std::move(label_names);
  f.buckets = std::move(buckets);
  // An unlabelled family has its one series from the start, so it renders
  // as 0 before anything happened instead of being absent.
  if (f.label_names.empty() && f.data.empty()) {
    series s;
    s.counts.assign(f.buckets.size(), 0);
    f.data.emplace(std::vector<std::string>{}, s);
  }
}

bool registry::apply(const sample& s) {
  auto it = families_.find(s.name);
  if (it == families_.end())
    return false;
  auto& f = it->second;
  if (s.labels.size() != f.label_names.size())
    return false;
  auto [pos, inserted] = f.data.try_emplace(s.labels);
  auto& ser = pos->second;
  if (inserted)
    ser.counts.assign(f.buckets.size(), 0);
  switch (s.op) {
  case sample::inc:
    if (f.type == family_type::histogram
        || (f.type == family_type::counter && s.value < 0))
      return false;
    ser.value += s.value;
    return true;
  case sample::set:
    if (f.type != family_type::gauge)
      return false;
    ser.value = s.value;
    return true;
  case sample::observe: {
    if (f.type != family_type::histogram)
      return false;
    auto b = std::lower_bound(f.buckets.begin(), f.buckets.end(), s.value);
    if (b != f.buckets.end())
      ++ser.counts[static_cast<std::size_t>(b - f.buckets.begin())];
    ser.sum += s.value;
    ++ser.count;
    return true;
  }
  }
  return false;
}

void registry::set_gauge(const std::string& name, double v,
                         const std::vector<std::string>& labels) {
  apply(sample{sample::set, name, labels, v});
}

double registry::value(const std::string& name,
                       const std::vector<std::string>& labels) const {
  auto it = families_.find(name);
  if (it == families_.end())
    return 0;
  auto s = it->second.data.find(labels);
  if (s == it->second.data.end())
    return 0;
  return it->second.type == family_type::histogram
             ? static_cast<double>(s->second.count)
             : s->second.value;
}

std::string registry::render() const {
  std::ostringstream out;
  for (const auto& [name, f] : families_) {
    const char* type = f.type == family_type::counter ? "counter"
                       : f.type == family_type::gauge ? "gauge"
                                                      : "histogram";
    out << "# HELP " << name << ' ' << f.help << '\n';
    out << "# TYPE " << name << ' ' << type << '\n';
    for (const auto& [labels, s] : f.data) {
      if (f.type != family_type::histogram) {
        out << name << label_block(f.label_names, labels) << ' '
            << format_value(s.value) << '\n';
        continue;
      }
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += s.counts[i];
        out << name << "_bucket"
            << label_block(f.label_names, labels,
                           "le=\"" + format_value(f.buckets[i]) + "\"")
            << ' ' << cumulative << '\n';
      }
      out << name << "_bucket"
          << label_block(f.label_names, labels, "le=\"+Inf\"") << ' ' << s.count
          << '\n';
      out << name << "_sum" << label_block(f.label_names, labels) << ' '
          << format_value(s.sum) << '\n';
      out << name << "_count" << label_block(f.label_names, labels) << ' '
          << s.count << '\n';
    }
  }
  return out.str();
}

void declare_service_metrics(registry& r) {
  using ft = family_type;
  r.declare("http_requests_total", ft::counter, "HTTP requests answered.",
            {"method", "route", "status"});
  // -- supervision (issue 15) --
  r.declare("http_handler_exceptions_total", ft::counter,
            "Requests whose handler threw (answered 500 internal_error), by "
            "route.",
            {"route"});
  r.declare("actor_restarts_total", ft::counter,
            "Top-level actors the supervisor restarted after a crash, by "
            "actor.",
            {"actor"});
  r.declare("http_request_duration_seconds", ft::histogram,
            "Time from a complete request header to the answer.",
            {"method", "route"}, http_buckets());
  r.declare("db_query_duration_seconds", ft::histogram,
            "Time the DB actor spent per query, unit or commit.", {"type"},
            {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5});
  // -- fault drills (issue 15) --
  r.declare("http_requests_shed_total", ft::counter,
            "Requests answered 503 + Retry-After on the I/O thread because "
            "server.max_in_flight were in flight (counted in batches every "
            "100 ms; not in http_requests_total).",
            {});
  r.declare("db_writes_refused_total", ft::counter,
            "Writes answered 503 because the database could not take them "
            "(disk_full, locked, io_error, unreachable).",
            {"reason"});
  r.declare("db_reads_refused_total", ft::counter,
            "Reads answered 503 at once because the database was unreachable "
            "(PostgreSQL down; one read per 250 ms tries it).",
            {"reason"});
  r.declare("auth_attempts_total", ft::counter,
            "Sign-in attempts by method and outcome.", {"method", "status"});
  r.declare("emails_sent_total", ft::counter, "Emails accepted by the relay.",
            {});
  r.declare("emails_failed_total", ft::counter,
            "Email delivery failures by reason.", {"reason"});
  r.declare("email_queue_depth", ft::gauge, "Mail jobs waiting to be sent.",
            {});
  r.declare("email_queue_oldest_due_age_seconds", ft::gauge,
            "Seconds the oldest due mail job has waited (0 when none).", {});
  r.declare("email_queue_polls_total", ft::counter,
            "Completed scans of the mail queue (a claim and every send it "
            "led to).",
            {});
  r.declare("email_send_duration_seconds", ft::histogram,
            "Time to hand one message to the transport.", {},
            {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  // -- mail workers (issue 15: a relay that hangs) --
  r.declare("email_sends_in_flight", ft::gauge,
            "Mail sends handed to a worker and not ended yet.", {});
  r.declare("email_sends_stuck", ft::gauge,
            "Mail sends past mail.send_deadline that the transport has not "
            "ended yet.",
            {});
  r.declare("email_send_deadline_exceeded_total", ft::counter,
            "Mail sends that ran past mail.send_deadline (their worker was "
            "replaced).",
            {});
  r.declare("email_sends_suppressed_total", ft::counter,
            "Sign-in mails not sent (send caps, sign-up off), by reason.",
            {"reason"});
  r.declare("webauthn_sign_count_regressions_total", ft::counter,
            "Passkey sign-ins whose signature counter did not advance.", {});
  r.declare("token_refreshes_total", ft::counter, "Refresh tokens rotated.",
            {});
  r.declare("sessions_created_total", ft::counter, "Sessions created.", {});
  // -- OpenID Provider (issue 16) --
  r.declare("oauth_authorizations_total", ft::counter,
            "Authorization requests of the OpenID Provider, by outcome "
            "(code, login, consent, error).",
            {"outcome"});
  r.declare("oauth_tokens_total", ft::counter,
            "Token endpoint answers, by grant type and result (issued or "
            "the RFC 6749 error code).",
            {"grant_type", "result"});
  r.declare("sessions_revoked_total", ft::counter, "Sessions revoked.", {});
  r.declare("sessions_evicted_total", ft::counter,
            "Sessions revoked because their user exceeded "
            "auth.session_max_per_user (also in sessions_revoked_total).",
            {});
  r.declare("active_sessions", ft::gauge, "Live sessions held in memory.", {});
  r.declare("signing_key_created_timestamp_seconds", ft::gauge,
            "When the active token signing key was made (unix seconds).", {});
  r.declare("rate_limit_hits_total", ft::counter,
            "Requests refused by a rate limit, by route class.", {"type"});
  r.declare("rate_limit_timeouts_total", ft::counter,
            "Requests the rate limiter gave no verdict for in time (or "
            "failed on), by what rate_limit.on_timeout made of them.",
            {"outcome"});
  // -- shared per-IP limits in Redis (issue 14) --
  r.declare("rate_limit_redis_calls_total", ft::counter,
            "GCRA steps asked of Redis (rate_limit.backend = \"redis\"), by "
            "outcome: ok, error (unreachable, timed out or refused), skipped "
            "(not tried: a failure less than a second ago).",
            {"outcome"});
  r.declare(
      "rate_limit_redis_duration_seconds", ft::histogram,
      "Time one Redis call took (connect when needed, EVALSHA, reply).", {},
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1});
  r.declare("rate_limit_redis_up", ft::gauge,
            "1 while the last Redis call (or the connect at start) on this "
            "connection succeeded, else 0.",
            {"connection"});
  r.declare("rate_limit_redis_fallbacks_total", ft::counter,
            "Per-IP requests Redis gave no verdict for, by what "
            "rate_limit.redis_fail_open made of them: local (this node's "
            "own limits decided) or refused (503).",
            {"outcome"});
  r.declare("webhook_deliveries_total", ft::counter,
            "Webhook delivery attempts by outcome.", {"outcome"});
  r.declare("webhook_circuits_open", ft::gauge,
            "Webhook endpoints whose circuit breaker is open.", {});
  r.declare("webhook_polls_total", ft::counter,
            "Completed scans of the webhook outbox (a claim and every "
            "delivery attempt it led to).",
            {});
  r.declare("account_lockouts_total", ft::counter,
            "Accounts locked after repeated failures, by method.", {"method"});
  r.declare("source_lockouts_total", ft::counter,
            "Client addresses locked after repeated failures that concern no "
            "account (e.g. malformed passkey assertions), by method.",
            {"method"});
  r.declare("caf_calls_total", ft::counter,
            "Calls to the CAF API by operation and outcome.",
            {"operation", "outcome"});
  r.declare("caf_connections_refused_total", ft::counter,
            "Connections to the CAF port closed by its gate, by reason "
            "(tls_handshake, not_allowed, message_too_large, protocol, ...).",
            {"reason"});
  r.declare("audit_events_dropped_total", ft::counter,
            "Audit events lost (overload or a rejected batch).", {});
  r.declare("process_resident_memory_bytes", ft::gauge,
            "Resident memory size in bytes.", {});
  r.declare("process_cpu_seconds_total", ft::counter,
            "Total user and system CPU time spent in seconds.", {});
  r.declare("process_start_time_seconds", ft::gauge,
            "Start time of the process since unix epoch in seconds.", {});
  r.declare("process_open_fds", ft::gauge, "Number of open file descriptors.",
            {});
}

void collect_process_metrics(registry& r, double start_time_seconds) {
  r.set_gauge("process_start_time_seconds", start_time_seconds);
  long page = sysconf(_SC_PAGESIZE);
  long ticks = sysconf(_SC_CLK_TCK);
  {
    std::ifstream statm("/proc/self/statm");
    long size = 0, resident = 0;
    if (statm >> size >> resident)
      r.set_gauge("process_resident_memory_bytes",
                  static_cast<double>(resident) * static_cast<double>(page));
  }
  {
    std::ifstream stat("/proc/self/stat");
    std::string line;
    std::getline(stat, line);
    // Fields after the command name (which may contain spaces) start after
    // the last ')'; utime and stime are fields 14 and 15.
    auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(line.substr(close + 2));
      std::string field;
      double utime = 0, stime = 0;
      for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14)
          utime = std::stod(field);
        if (i == 15)
          stime = std::stod(field);
      }
      // Counters cannot be "set"; the registry keeps the latest reading.
      auto total = (utime + stime) / static_cast<double>(ticks);
      auto current = r.value("process_cpu_seconds_total");
      if (total > current)
        r.apply(inc("process_cpu_seconds_total", {}, total - current));
    }
  }
  std::error_code ec;
  std::size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++fds;
  r.set_gauge("process_open_fds", static_cast<double>(fds));
}

} // namespace authsvc::metrics
