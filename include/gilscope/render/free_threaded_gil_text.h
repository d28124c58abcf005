// How every output says why a free-threaded build's GIL is on or off.
#ifndef GILSCOPE_RENDER_FREE_THREADED_GIL_TEXT_H_
#define GILSCOPE_RENDER_FREE_THREADED_GIL_TEXT_H_

#include <nlohmann/json.hpp>
#include <string>

#include "gilscope/sample/free_threaded_gil.h"

namespace gilscope {

// "on, asked for (PYTHON_GIL=1 or -X gil=1)", "on, re-enabled when module 'x' was imported (it
// does not declare free-threading support)", "off (free-threaded)"...: module names are made
// terminal-safe.
std::string FreeThreadedGilText(const FreeThreadedGil& gil);

// {"state": "off"|"asked_for"|"enabled_by_module"|"importing"|"unknown", "modules": [...]}.
nlohmann::json FreeThreadedGilJson(const FreeThreadedGil& gil);

}  // namespace gilscope

#endif  // GILSCOPE_RENDER_FREE_THREADED_GIL_TEXT_H_
