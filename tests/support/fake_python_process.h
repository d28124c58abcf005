// A FakeCPython image dressed as a whole process for LocatePython: /proc files, the ELF object
// holding the runtime with the symbols locate looks for, and the version where CPython keeps it
// (Py_Version, getversion.c's buffer, or only text to scan for). Every way locate can find a
// runtime, without starting an interpreter.
#ifndef GILSCOPE_TESTS_SUPPORT_FAKE_PYTHON_PROCESS_H_
#define GILSCOPE_TESTS_SUPPORT_FAKE_PYTHON_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/locate/python_target.h"
#include "support/fake_cpython.h"
#include "support/fake_elf.h"
#include "support/fake_process.h"

namespace gilscope::testing {

struct FakePythonOptions {
  enum class Binary {
    kLibpython,     // a shared build: the executable links libpython, which holds the runtime
    kStaticPie,     // the executable holds it, loaded at a bias
    kStaticNonPie,  // the executable holds it at its link addresses (Debian's python3.11)
  };
  enum class Version {
    kAuto,          // Py_Version from 3.11, getversion.c's buffer ("version") before
    kBuffer,        // getversion.c's buffer, by symbol
    kScanWritable,  // no symbol: only the text in a writable segment, the file name's version
  };
  Binary binary = Binary::kLibpython;
  Version version = Version::kAuto;
  bool symtab = true;  // false: stripped, names in .dynsym only
};

// PY_VERSION_HEX of a release such as "3.12.1" or "3.15.0rc1".
uint32_t VersionHex(absl::string_view text);

// The symbols an object holding `target`'s runtime defines, at their addresses in the process:
// the runtime (3.7+) or the interpreter list and GIL statics (2.7, 3.6), and PyCode_Type.
// Addresses that are 0 are left out.
std::vector<FakeElfSpec::Symbol> RuntimeSymbols(const PythonLayout& layout,
                                                const PythonTarget& target);

// 3.13+: writes the _Py_DebugOffsets the real release published (testdata/debug_offsets) at the
// start of `fake`'s runtime. False when there is none for this layout.
bool PublishDebugOffsets(FakeCPython& fake, const PythonLayout& layout,
                         const std::string& testdata_dir);

// Process `pid` running `fake`'s image: its maps, exe, cmdline, a main thread, the runtime's
// ELF object (mapped over FakeCPython's heap) and the version. Threads besides the main one
// are the caller's to add.
FakeProcess MakePythonProcess(FakeCPython& fake, const PythonLayout& layout, pid_t pid,
                              const FakePythonOptions& options = {});

}  // namespace gilscope::testing

#endif  // GILSCOPE_TESTS_SUPPORT_FAKE_PYTHON_PROCESS_H_
