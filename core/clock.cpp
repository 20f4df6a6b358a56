#include "core/clock.hpp"

namespace authsvc {

namespace {

class system_clock_impl : public clock {
public:
  std::int64_t unix_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::int64_t steady_ns() const override {
    using namespace std::chrono;
    return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch())
        .count();
  }
};

} // namespace

clock_ptr real_clock() {
  static const clock_ptr instance = std::make_shared<system_clock_impl>();
  return instance;
}

} // namespace authsvc
