#pragma once
// A flow's steps run in CAF continuations, where an exception would take
// the actor down: each step runs under guard_step, which turns an exception
// into the flow's internal-error answer (what the front's `guarded` does for
// a handler).
#include <exception>
#include <string>
#include <utility>

namespace authsvc {

/// Runs `step`; when it throws, answers `done` once with
/// `internal(what)` converted to `Out`.
template <class Out, class Done, class Step, class Internal>
void guard_step(Done& done, Step&& step, Internal internal) {
  try {
    step();
  } catch (const std::exception& e) {
    Out o = internal(std::string(e.what()));
    done(o);
  } catch (...) {
    Out o = internal(std::string("unknown exception"));
    done(o);
  }
}

} // namespace authsvc
