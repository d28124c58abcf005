#include "gilscope/elf/elf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gilscope/base/unique_fd.h"

namespace gilscope {
namespace {

struct ElfHandle {
  Elf* elf = nullptr;
  ~ElfHandle() {
    if (elf != nullptr) elf_end(elf);
  }
};

}  // namespace

absl::StatusOr<ElfFile> ElfFile::Open(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) return absl::InternalError("libelf is unusable");
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  ElfHandle handle;
  handle.elf = elf_begin(fd.get(), ELF_C_READ, nullptr);
  if (handle.elf == nullptr || elf_kind(handle.elf) != ELF_K_ELF) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not an ELF file"));
  }
  GElf_Ehdr header;
  if (gelf_getehdr(handle.elf, &header) == nullptr || header.e_machine != EM_X86_64) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not an x86_64 ELF file"));
  }
  ElfFile file;
  file.is_shared_object_ = header.e_type == ET_DYN;

  size_t segment_count = 0;
  if (elf_getphdrnum(handle.elf, &segment_count) == 0) {
    for (size_t i = 0; i < segment_count; ++i) {
      GElf_Phdr segment;
      if (gelf_getphdr(handle.elf, static_cast<int>(i), &segment) == nullptr) continue;
      if (segment.p_type != PT_LOAD) continue;
      file.load_segments_.push_back({segment.p_vaddr, segment.p_memsz, segment.p_offset,
                                     (segment.p_flags & PF_W) != 0});
    }
  }

  size_t names_index = 0;
  if (elf_getshdrstrndx(handle.elf, &names_index) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, " has no section names"));
  }
  for (Elf_Scn* section = elf_nextscn(handle.elf, nullptr); section != nullptr;
       section = elf_nextscn(handle.elf, section)) {
    GElf_Shdr section_header;
    if (gelf_getshdr(section, &section_header) == nullptr) continue;
    const char* section_name = elf_strptr(handle.elf, names_index, section_header.sh_name);
    if (section_name != nullptr) {
      file.sections_[section_name] = {section_header.sh_addr, section_header.sh_size,
                                      section_header.sh_offset,
                                      (section_header.sh_flags & SHF_WRITE) != 0};
    }
    if (section_header.sh_type != SHT_SYMTAB && section_header.sh_type != SHT_DYNSYM) continue;
    if (section_header.sh_type == SHT_SYMTAB) file.has_symtab_ = true;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (data == nullptr || section_header.sh_entsize == 0) continue;
    const size_t count = section_header.sh_size / section_header.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym symbol;
      if (gelf_getsym(data, static_cast<int>(i), &symbol) == nullptr) continue;
      if (symbol.st_shndx == SHN_UNDEF || symbol.st_value == 0) continue;
      const char* name = elf_strptr(handle.elf, section_header.sh_link, symbol.st_name);
      if (name == nullptr || *name == '\0') continue;
      file.symbols_.try_emplace(name, ElfSymbol{symbol.st_value, symbol.st_size});
    }
  }
  return file;
}

std::optional<ElfSymbol> ElfFile::FindSymbol(absl::string_view name) const {
  auto it = symbols_.find(name);
  if (it == symbols_.end()) return std::nullopt;
  return it->second;
}

std::optional<ElfSymbol> ElfFile::FindSymbolOrClone(absl::string_view prefix) const {
  if (auto exact = FindSymbol(prefix)) return exact;
  // Only called at attach time, for a handful of names: a scan is fine.
  for (const auto& [name, symbol] : symbols_) {
    if (name.size() > prefix.size() && absl::StartsWith(name, prefix) && name[prefix.size()] == '.') {
      return symbol;
    }
  }
  return std::nullopt;
}

std::optional<ElfRange> ElfFile::FindSection(absl::string_view name) const {
  auto it = sections_.find(name);
  if (it == sections_.end()) return std::nullopt;
  return it->second;
}

}  // namespace gilscope
