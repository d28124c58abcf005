// Writes a small x86_64 ELF image with chosen load segments, symbols and sections: what
// locating the runtime reads of the object holding it, without a compiler or a real binary.
#ifndef GILSCOPE_TESTS_SUPPORT_FAKE_ELF_H_
#define GILSCOPE_TESTS_SUPPORT_FAKE_ELF_H_

#include <cstdint>
#include <string>
#include <vector>

namespace gilscope::testing {

struct FakeElfSpec {
  struct Segment {
    uint64_t address = 0;  // link-time
    uint64_t size = 0;     // in memory; the file holds none of it (as .bss)
    uint64_t file_offset = 0;
    bool writable = true;
  };
  struct Symbol {
    std::string name;
    uint64_t address = 0;  // link-time; never 0 (readers skip such symbols)
    uint64_t size = 8;
    bool function = false;  // STT_FUNC, else STT_OBJECT
  };
  struct Section {  // a named address range without contents, as .PyRuntime
    std::string name;
    uint64_t address = 0;
    uint64_t size = 0;
    // Not empty: a section holding these bytes in the file (SHT_PROGBITS), as .gnu_debugdata.
    std::string contents;
  };

  bool shared_object = true;  // ET_DYN (a library or a PIE), else ET_EXEC
  // false: the symbols are in .dynsym only, as in a stripped binary.
  bool symtab = true;
  std::vector<Segment> segments;
  std::vector<Symbol> symbols;
  std::vector<Section> sections;
  std::string build_id;  // raw bytes; not empty: an NT_GNU_BUILD_ID note (.note.gnu.build-id)
};

std::string WriteFakeElf(const FakeElfSpec& spec);

}  // namespace gilscope::testing

#endif  // GILSCOPE_TESTS_SUPPORT_FAKE_ELF_H_
