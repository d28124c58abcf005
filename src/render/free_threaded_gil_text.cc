#include "gilscope/render/free_threaded_gil_text.h"

#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gilscope/render/safe_text.h"

namespace gilscope {

std::string FreeThreadedGilText(const FreeThreadedGil& gil) {
  switch (gil.state) {
    case FreeThreadedGil::State::kOff:
      return "off (free-threaded)";
    case FreeThreadedGil::State::kAskedFor:
      return "on, asked for (PYTHON_GIL=1 or -X gil=1)";
    case FreeThreadedGil::State::kImporting:
      return "on while an extension module of unknown safety is imported";
    case FreeThreadedGil::State::kEnabledByModule: {
      if (gil.modules.empty()) {
        return "on, re-enabled when an extension module that does not declare free-threading "
               "support was imported";
      }
      std::vector<std::string> quoted;
      for (const std::string& name : gil.modules) {
        quoted.push_back(absl::StrFormat("'%s'", TerminalSafe(name)));
      }
      const bool one = quoted.size() == 1;
      return absl::StrFormat(
          "on, re-enabled when module%s %s %s imported (%s not declare free-threading support)",
          one ? "" : "s", absl::StrJoin(quoted, ", "), one ? "was" : "were",
          one ? "it does" : "they do");
    }
    case FreeThreadedGil::State::kUnknown:
      break;
  }
  return "unknown (free-threaded)";
}

nlohmann::json FreeThreadedGilJson(const FreeThreadedGil& gil) {
  return {{"state", FreeThreadedGilStateName(gil.state)}, {"modules", gil.modules}};
}

}  // namespace gilscope
