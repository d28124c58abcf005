// Symbols, sections and load segments of an ELF file on disk, read with elfutils' libelf
// (a well-kept parser: no hand-written ELF structure walking to get wrong on odd binaries).
#ifndef GILSCOPE_ELF_ELF_FILE_H_
#define GILSCOPE_ELF_ELF_FILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gilscope {

struct ElfSymbol {
  uint64_t address = 0;  // link-time virtual address
  uint64_t size = 0;
};

struct ElfRange {
  uint64_t address = 0;  // link-time virtual address
  uint64_t size = 0;
  uint64_t file_offset = 0;
  bool writable = false;
};

// The function symbols of a file (STT_FUNC and STT_GNU_IFUNC with a size), ordered by address,
// for naming code addresses. Both .symtab and .dynsym are read: a stripped file still names its
// exported functions. Where several names share an address (glibc's "read", "__read",
// "__libc_read"), the one kept has the fewest leading underscores, then a global binding before a
// weak one before a local one, then the shortest.
class ElfFunctionTable {
 public:
  struct Function {
    uint64_t address = 0;  // link-time virtual address
    uint64_t size = 0;
    uint32_t name_offset = 0;  // into the table's name pool: see Name()
    uint32_t name_size = 0;
  };

  // The function whose [address, address + size) holds `address`, or null: an address past the
  // end of the closest function below it is not named after it.
  const Function* Find(uint64_t address) const;
  absl::string_view Name(const Function& function) const {
    return absl::string_view(names_).substr(function.name_offset, function.name_size);
  }
  // The index of `function` in this table (for per-function side tables).
  size_t IndexOf(const Function& function) const { return &function - functions_.data(); }
  const std::vector<Function>& functions() const { return functions_; }
  bool empty() const { return functions_.empty(); }

 private:
  friend class ElfFile;
  std::vector<Function> functions_;
  std::string names_;  // every name, back to back (offsets stay valid when the table moves)
};

// Where Debian's -dbg packages put separate debug files (by build id, under .build-id/).
inline constexpr char kSystemDebugRoot[] = "/usr/lib/debug";

// What to read besides sections and segments (each costs time and memory for big files).
struct ElfReadOptions {
  bool symbols_by_name = true;  // FindSymbol / FindSymbolOrClone
  bool function_table = false;  // functions(), for naming addresses
  // With function_table, where separate debug files are looked up by build id, as gdb does:
  // "<root>/.build-id/aa/bbcc....debug" for build id aabbcc... (Debian's -dbg packages install
  // them under /usr/lib/debug), each root in turn. Their .symtab names the static functions a
  // stripped file lost. A debug file is used only when its own build id is the file's, and only
  // for a file without a .symtab of its own. Empty: none.
  std::vector<std::string> debug_roots;
  // With function_table, also read the symbols of .gnu_debugdata ("MiniDebugInfo": an
  // xz-compressed ELF holding a .symtab, as Fedora ships), decompressed up to this size; a
  // larger or undecodable section is ignored. 0: not read.
  uint64_t max_mini_debug_info_size = uint64_t{64} << 20;
};

class ElfFile {
 public:
  // Reads the file's sections, program headers and, as `options` asks, symbol tables (.symtab
  // when present, and .dynsym).
  static absl::StatusOr<ElfFile> Open(const std::string& path, const ElfReadOptions& options = {});
  // The same from an image held in memory (the vDSO, copied out of a process); `name` is for
  // messages only.
  static absl::StatusOr<ElfFile> OpenImage(absl::string_view name, std::string image,
                                           const ElfReadOptions& options = {});

  // A defined symbol by exact name.
  std::optional<ElfSymbol> FindSymbol(absl::string_view name) const;
  // A defined symbol whose name is `prefix` or `prefix.<suffix>` (GCC's local-static and
  // clone names, such as "version.0" or "take_gil.constprop.0").
  std::optional<ElfSymbol> FindSymbolOrClone(absl::string_view prefix) const;
  std::optional<ElfRange> FindSection(absl::string_view name) const;

  const std::vector<ElfRange>& load_segments() const { return load_segments_; }
  // The PT_GNU_EH_FRAME program header: where .eh_frame_hdr (the binary-search table over
  // .eh_frame that unwinders use) is loaded.
  const std::optional<ElfRange>& eh_frame_header() const { return eh_frame_header_; }
  // Empty unless ElfReadOptions::function_table.
  const ElfFunctionTable& functions() const { return functions_; }
  ElfFunctionTable& mutable_functions() { return functions_; }
  bool has_symtab() const { return has_symtab_; }
  bool is_shared_object() const { return is_shared_object_; }
  // The NT_GNU_BUILD_ID note's bytes; empty when there is none.
  const std::string& build_id() const { return build_id_; }
  // Where function names came from besides the file itself: the separate debug file merged
  // (empty: none), and whether .gnu_debugdata was read.
  const std::string& debug_file() const { return debug_file_; }
  bool has_mini_debug_info() const { return has_mini_debug_info_; }

 private:
  struct Parser;

  absl::flat_hash_map<std::string, ElfSymbol> symbols_;
  absl::flat_hash_map<std::string, ElfRange> sections_;
  std::vector<ElfRange> load_segments_;
  std::optional<ElfRange> eh_frame_header_;
  ElfFunctionTable functions_;
  std::string build_id_;
  std::string debug_file_;
  bool has_symtab_ = false;
  bool is_shared_object_ = false;
  bool has_mini_debug_info_ = false;
};

}  // namespace gilscope

#endif  // GILSCOPE_ELF_ELF_FILE_H_
