#include "gilscope/elf/elf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
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

// How a function name ranks when several share an address: fewer leading underscores first
// ("read" before "__libc_read"), then global before weak before local, then shorter.
struct FunctionCandidate {
  uint64_t address = 0;
  uint64_t size = 0;
  absl::string_view name;  // points into libelf's string table, alive while parsing
  int binding_rank = 0;    // 0 global, 1 weak, 2 local/other

  int LeadingUnderscores() const {
    int count = 0;
    while (count < static_cast<int>(name.size()) && name[count] == '_') ++count;
    return count;
  }
  bool PreferredTo(const FunctionCandidate& other) const {
    const int mine = LeadingUnderscores(), theirs = other.LeadingUnderscores();
    if (mine != theirs) return mine < theirs;
    if (binding_rank != other.binding_rank) return binding_rank < other.binding_rank;
    if (name.size() != other.name.size()) return name.size() < other.name.size();
    return name < other.name;
  }
};

int BindingRank(unsigned char info) {
  switch (GELF_ST_BIND(info)) {
    case STB_GLOBAL:
      return 0;
    case STB_WEAK:
      return 1;
    default:
      return 2;
  }
}

}  // namespace

const ElfFunctionTable::Function* ElfFunctionTable::Find(uint64_t address) const {
  auto it = std::upper_bound(functions_.begin(), functions_.end(), address,
                             [](uint64_t a, const Function& f) { return a < f.address; });
  if (it == functions_.begin()) return nullptr;
  --it;
  if (address - it->address >= it->size) return nullptr;
  return &*it;
}

struct ElfFile::Parser {
  static absl::StatusOr<ElfFile> Parse(Elf* elf, absl::string_view name,
                                       const ElfReadOptions& options);
};

absl::StatusOr<ElfFile> ElfFile::Parser::Parse(Elf* elf, absl::string_view path,
                                               const ElfReadOptions& options) {
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not an ELF file"));
  }
  GElf_Ehdr header;
  if (gelf_getehdr(elf, &header) == nullptr || header.e_machine != EM_X86_64) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not an x86_64 ELF file"));
  }
  ElfFile file;
  file.is_shared_object_ = header.e_type == ET_DYN;

  size_t segment_count = 0;
  if (elf_getphdrnum(elf, &segment_count) == 0) {
    for (size_t i = 0; i < segment_count; ++i) {
      GElf_Phdr segment;
      if (gelf_getphdr(elf, static_cast<int>(i), &segment) == nullptr) continue;
      if (segment.p_type == PT_GNU_EH_FRAME) {
        file.eh_frame_header_ = ElfRange{segment.p_vaddr, segment.p_memsz, segment.p_offset, false};
      }
      if (segment.p_type != PT_LOAD) continue;
      file.load_segments_.push_back(
          {segment.p_vaddr, segment.p_memsz, segment.p_offset, (segment.p_flags & PF_W) != 0});
    }
  }

  size_t names_index = 0;
  if (elf_getshdrstrndx(elf, &names_index) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, " has no section names"));
  }
  std::vector<FunctionCandidate> candidates;
  for (Elf_Scn* section = elf_nextscn(elf, nullptr); section != nullptr;
       section = elf_nextscn(elf, section)) {
    GElf_Shdr section_header;
    if (gelf_getshdr(section, &section_header) == nullptr) continue;
    const char* section_name = elf_strptr(elf, names_index, section_header.sh_name);
    if (section_name != nullptr) {
      file.sections_[section_name] = {section_header.sh_addr, section_header.sh_size,
                                      section_header.sh_offset,
                                      (section_header.sh_flags & SHF_WRITE) != 0};
    }
    if (section_header.sh_type != SHT_SYMTAB && section_header.sh_type != SHT_DYNSYM) continue;
    if (section_header.sh_type == SHT_SYMTAB) file.has_symtab_ = true;
    if (!options.symbols_by_name && !options.function_table) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (data == nullptr || section_header.sh_entsize == 0) continue;
    const size_t count = section_header.sh_size / section_header.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym symbol;
      if (gelf_getsym(data, static_cast<int>(i), &symbol) == nullptr) continue;
      if (symbol.st_shndx == SHN_UNDEF || symbol.st_value == 0) continue;
      const char* name = elf_strptr(elf, section_header.sh_link, symbol.st_name);
      if (name == nullptr || *name == '\0') continue;
      if (options.symbols_by_name) {
        file.symbols_.try_emplace(name, ElfSymbol{symbol.st_value, symbol.st_size});
      }
      const int type = GELF_ST_TYPE(symbol.st_info);
      if (options.function_table && symbol.st_size > 0 &&
          (type == STT_FUNC || type == STT_GNU_IFUNC)) {
        candidates.push_back({symbol.st_value, symbol.st_size, name, BindingRank(symbol.st_info)});
      }
    }
  }

  if (options.function_table) {
    // One entry per address, the preferred name first; .symtab repeats .dynsym's entries.
    std::sort(candidates.begin(), candidates.end(),
              [](const FunctionCandidate& a, const FunctionCandidate& b) {
                if (a.address != b.address) return a.address < b.address;
                return a.PreferredTo(b);
              });
    ElfFunctionTable& table = file.functions_;
    for (const FunctionCandidate& candidate : candidates) {
      if (!table.functions_.empty() && table.functions_.back().address == candidate.address) {
        continue;
      }
      if (table.names_.size() + candidate.name.size() > UINT32_MAX) break;
      table.functions_.push_back({candidate.address, candidate.size,
                                  static_cast<uint32_t>(table.names_.size()),
                                  static_cast<uint32_t>(candidate.name.size())});
      table.names_.append(candidate.name.data(), candidate.name.size());
    }
    table.functions_.shrink_to_fit();
    table.names_.shrink_to_fit();
  }
  return file;
}

absl::StatusOr<ElfFile> ElfFile::Open(const std::string& path, const ElfReadOptions& options) {
  if (elf_version(EV_CURRENT) == EV_NONE) return absl::InternalError("libelf is unusable");
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  ElfHandle handle;
  handle.elf = elf_begin(fd.get(), ELF_C_READ, nullptr);
  return Parser::Parse(handle.elf, path, options);
}

absl::StatusOr<ElfFile> ElfFile::OpenImage(absl::string_view name, std::string image,
                                           const ElfReadOptions& options) {
  if (elf_version(EV_CURRENT) == EV_NONE) return absl::InternalError("libelf is unusable");
  ElfHandle handle;
  // libelf only reads the image with ELF_C_READ semantics; it stays alive until elf_end.
  handle.elf = elf_memory(image.data(), image.size());
  return Parser::Parse(handle.elf, name, options);
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
    if (name.size() > prefix.size() && absl::StartsWith(name, prefix) &&
        name[prefix.size()] == '.') {
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
