// libFuzzer entry: an arbitrary file as the ELF object a target maps (its executable, its
// libpython, a library it loaded: all chosen by whoever runs the target). Reading its sections,
// segments and symbol tables (with the xz-compressed ELF of .gnu_debugdata, capped small here so
// that a decompression bomb costs little per input), and every lookup gilscope makes in them,
// must give data or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gilscope/elf/elf_file.h"

namespace {
volatile uint64_t g_sink = 0;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using gilscope::ElfFile;
  absl::StatusOr<ElfFile> file = ElfFile::OpenImage(
      "fuzz input", std::string(reinterpret_cast<const char*>(data), size),
      {.symbols_by_name = true, .function_table = true, .max_mini_debug_info_size = 1 << 20});
  if (!file.ok()) return 0;
  for (const char* name : {"_PyRuntime", "Py_Version", "PyCode_Type", "_PyThreadState_Current"}) {
    if (auto symbol = file->FindSymbol(name)) g_sink = g_sink + symbol->address;
  }
  if (auto clone = file->FindSymbolOrClone("take_gil")) g_sink = g_sink + clone->size;
  if (auto section = file->FindSection(".text")) g_sink = g_sink + section->file_offset;
  for (const gilscope::ElfRange& segment : file->load_segments()) g_sink = g_sink + segment.size;
  if (file->eh_frame_header()) g_sink = g_sink + file->eh_frame_header()->address;
  const gilscope::ElfFunctionTable& functions = file->functions();
  for (const auto& function : functions.functions()) {
    for (uint64_t address : {function.address, function.address + function.size / 2,
                             function.address + function.size}) {
      if (const auto* found = functions.Find(address)) {
        g_sink = g_sink + functions.Name(*found).size() + functions.IndexOf(*found);
      }
    }
  }
  return 0;
}
