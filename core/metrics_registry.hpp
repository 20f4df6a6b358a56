#pragma once
// Counters, gauges and histograms with label values, rendered in the
// Prometheus text exposition format 0.0.4. A plain class: the metrics actor
// owns the one instance, so nothing here is synchronised.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace authsvc::metrics {

enum class family_type : std::uint8_t { counter, gauge, histogram };

/// One change sent to the metrics actor.
struct sample {
  enum op_t : std::uint8_t { inc, set, observe };
  std::uint8_t op = inc;
  std::string name;
  std::vector<std::string> labels; ///< values, in the family's label order
  double value = 1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sample& x) {
  return f(x.op, x.name, x.labels, x.value);
}

/// Convenience constructors.
inline sample inc(std::string name, std::vector<std::string> labels = {},
                  double by = 1) {
  return {sample::inc, std::move(name), std::move(labels), by};
}
inline sample set(std::string name, double v,
                  std::vector<std::string> labels = {}) {
  return {sample::set, std::move(name), std::move(labels), v};
}
inline sample observe(std::string name, double v,
                      std::vector<std::string> labels = {}) {
  return {sample::observe, std::move(name), std::move(labels), v};
}

/// The default HTTP latency buckets (seconds), from the seed.
std::vector<double> http_buckets();

class registry {
public:
  /// Declares a family; applying a sample to an undeclared name is a no-op
  /// that returns false (so a typo cannot invent unbounded series).
  void declare(const std::string& name, family_type type,
               const std::string& help, std::vector<std::string> label_names,
               std::vector<double> buckets = {});

  /// Applies one sample. @returns false for an unknown family or a label
  /// count that does not match the declaration.
  bool apply(const sample& s);

  /// Sets a gauge to `v` (process metrics at scrape time).
  void set_gauge(const std::string& name, double v,
                 const std::vector<std::string>& labels = {});

  /// Current value of a counter or gauge series (tests and /health).
  double value(const std::string& name,
               const std::vector<std::string>& labels = {}) const;

  /// Prometheus text format 0.0.4.
  std::string render() const;

private:
  struct series {
    double value = 0;                  // counter / gauge
    std::vector<std::uint64_t> counts; // histogram buckets (non-cumulative)
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct family {
    family_type type;
    std::string help;
    std::vector<std::string> label_names;
    std::vector<double> buckets;
    std::map<std::vector<std::string>, series> data;
  };
  std::map<std::string, family> families_;
};

/// Declares every metric the service exposes, so each appears in /metrics
/// from the first scrape (the seed's names included).
void declare_service_metrics(registry& r);

/// Reads the process metrics (RSS, CPU, fds) and sets them on `r`.
void collect_process_metrics(registry& r, double start_time_seconds);

} // namespace authsvc::metrics
