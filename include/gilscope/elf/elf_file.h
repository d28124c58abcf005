// Symbols, sections and load segments of an ELF file on disk, read with elfutils' libelf
// (a well-kept parser: no hand-written ELF structure walking to get wrong on odd binaries).
#ifndef GILSCOPE_ELF_ELF_FILE_H_
#define GILSCOPE_ELF_ELF_FILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

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

class ElfFile {
 public:
  // Reads the file's symbol tables (.symtab when present, and .dynsym), sections and PT_LOADs.
  static absl::StatusOr<ElfFile> Open(const std::string& path);

  // A defined symbol by exact name.
  std::optional<ElfSymbol> FindSymbol(absl::string_view name) const;
  // A defined symbol whose name is `prefix` or `prefix.<suffix>` (GCC's local-static and
  // clone names, such as "version.0" or "take_gil.constprop.0").
  std::optional<ElfSymbol> FindSymbolOrClone(absl::string_view prefix) const;
  std::optional<ElfRange> FindSection(absl::string_view name) const;

  const std::vector<ElfRange>& load_segments() const { return load_segments_; }
  bool has_symtab() const { return has_symtab_; }
  bool is_shared_object() const { return is_shared_object_; }

 private:
  absl::flat_hash_map<std::string, ElfSymbol> symbols_;
  absl::flat_hash_map<std::string, ElfRange> sections_;
  std::vector<ElfRange> load_segments_;
  bool has_symtab_ = false;
  bool is_shared_object_ = false;
};

}  // namespace gilscope

#endif  // GILSCOPE_ELF_ELF_FILE_H_
