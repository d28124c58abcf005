// Names code addresses of one ELF object from its function symbols.
//
// A frame is named only when its address falls inside a symbol's [start, start + size): in a
// stripped file the static functions are gone from the symbol tables, and naming their code
// after the closest exported function below it would be a confident lie. Such frames stay
// unnamed (the unwinder then reports the object and the function's offset).
#ifndef GILSCOPE_NATIVE_SYMBOLIZER_H_
#define GILSCOPE_NATIVE_SYMBOLIZER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "gilscope/elf/elf_file.h"

namespace gilscope {

// Demangles an Itanium C++ ABI name ("_ZN3foo3barEi" -> "foo::bar(int)") with libstdc++'s
// abi::__cxa_demangle; a name that is not mangled, or does not demangle, comes back unchanged.
std::string DemangleSymbol(absl::string_view name);

class Symbolizer {
 public:
  struct Symbol {
    absl::string_view name;  // demangled; valid until the next Lookup() or the symbolizer's end
    uint64_t start = 0;      // link-time address
    uint64_t size = 0;
  };

  Symbolizer() = default;
  explicit Symbolizer(ElfFunctionTable functions) : functions_(std::move(functions)) {}

  // The function holding link-time address `address` (a runtime address minus the object's
  // load bias). For a return address, look up `address - 1`: a call can be a function's last
  // instruction, and its return address then belongs to the next function.
  // C++ names are demangled once, on their first lookup, and kept.
  std::optional<Symbol> Lookup(uint64_t address);

  size_t function_count() const { return functions_.functions().size(); }

 private:
  ElfFunctionTable functions_;
  // Demangled names of the C++ functions looked up so far, by index in functions_. Other names
  // are served straight from the table's name pool.
  absl::flat_hash_map<uint32_t, std::string> demangled_;
};

}  // namespace gilscope

#endif  // GILSCOPE_NATIVE_SYMBOLIZER_H_
