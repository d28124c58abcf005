// Why a free-threaded build's GIL is on or off: asked for at start-up (PYTHON_GIL=1, -X gil=1),
// or re-enabled when an extension module that does not declare free-threading support
// (Py_mod_gil = Py_MOD_GIL_NOT_USED) was imported. Read now and then, not every sample.
#ifndef GILSCOPE_SAMPLE_FREE_THREADED_GIL_H_
#define GILSCOPE_SAMPLE_FREE_THREADED_GIL_H_

#include <string>
#include <vector>

namespace gilscope {

struct FreeThreadedGil {
  enum class State {
    kUnknown,          // unreadable, or not a free-threaded target
    kOff,              // running without the GIL (the default, or PYTHON_GIL=0)
    kAskedFor,         // PYTHON_GIL=1 or -X gil=1
    kEnabledByModule,  // re-enabled for good by importing `modules`
    kImporting,        // on for the time an extension module of unknown safety is imported
  };
  State state = State::kUnknown;
  // kEnabledByModule: names (from the target: untrusted) of the extension modules in
  // sys.modules that did not declare free-threading support; may be empty when the one that
  // did it is gone from sys.modules or could not be read.
  std::vector<std::string> modules;
  bool operator==(const FreeThreadedGil&) const = default;
};

// "off", "asked_for", "enabled_by_module", "importing", "unknown": JSON's spelling.
inline const char* FreeThreadedGilStateName(FreeThreadedGil::State state) {
  switch (state) {
    case FreeThreadedGil::State::kOff:
      return "off";
    case FreeThreadedGil::State::kAskedFor:
      return "asked_for";
    case FreeThreadedGil::State::kEnabledByModule:
      return "enabled_by_module";
    case FreeThreadedGil::State::kImporting:
      return "importing";
    case FreeThreadedGil::State::kUnknown:
      break;
  }
  return "unknown";
}

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLE_FREE_THREADED_GIL_H_
