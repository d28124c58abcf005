#include "gilscope/native/symbolizer.h"

#include <cxxabi.h>

#include <cstdlib>

#include "absl/strings/match.h"

namespace gilscope {

std::string DemangleSymbol(absl::string_view name) {
  // Itanium ABI mangled names start with "_Z"; anything else (C names) is shown as it is.
  if (!absl::StartsWith(name, "_Z")) return std::string(name);
  const std::string terminated(name);
  int status = 0;
  char* demangled = abi::__cxa_demangle(terminated.c_str(), nullptr, nullptr, &status);
  if (status != 0 || demangled == nullptr) {
    std::free(demangled);
    return terminated;
  }
  std::string result(demangled);
  std::free(demangled);
  return result;
}

std::optional<Symbolizer::Symbol> Symbolizer::Lookup(uint64_t address) {
  const ElfFunctionTable::Function* function = functions_.Find(address);
  if (function == nullptr) return std::nullopt;
  Symbol symbol{functions_.Name(*function), function->address, function->size};
  if (absl::StartsWith(symbol.name, "_Z")) {
    const auto index = static_cast<uint32_t>(functions_.IndexOf(*function));
    auto it = demangled_.find(index);
    if (it == demangled_.end()) it = demangled_.emplace(index, DemangleSymbol(symbol.name)).first;
    symbol.name = it->second;
  }
  return symbol;
}

}  // namespace gilscope
