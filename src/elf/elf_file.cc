#include "gilscope/elf/elf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gilscope/base/unique_fd.h"
#include "gilscope/elf/xz_decompress.h"

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

// Build ids are 20 bytes (SHA-1) by default, 16 (MD5/UUID) or 8 (xxhash) otherwise; anything
// outside these bounds is not one a debug file could be filed under.
constexpr size_t kMinBuildId = 2;
constexpr size_t kMaxBuildId = 64;

// The NT_GNU_BUILD_ID note of `elf`'s SHT_NOTE sections; empty when there is none.
std::string ReadBuildId(Elf* elf) {
  for (Elf_Scn* section = elf_nextscn(elf, nullptr); section != nullptr;
       section = elf_nextscn(elf, section)) {
    GElf_Shdr header;
    if (gelf_getshdr(section, &header) == nullptr || header.sh_type != SHT_NOTE) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (data == nullptr || data->d_buf == nullptr) continue;
    const char* bytes = static_cast<const char*>(data->d_buf);
    GElf_Nhdr note;
    size_t name_at = 0, desc_at = 0;
    // gelf_getnote checks each note against the data's size; 0 ends the walk.
    for (size_t offset = 0; (offset = gelf_getnote(data, offset, &note, &name_at, &desc_at)) > 0;) {
      if (note.n_type != NT_GNU_BUILD_ID || note.n_namesz != 4 || name_at + 4 > data->d_size ||
          std::memcmp(bytes + name_at, "GNU", 4) != 0) {
        continue;
      }
      if (note.n_descsz < kMinBuildId || note.n_descsz > kMaxBuildId ||
          desc_at + note.n_descsz > data->d_size) {
        return "";
      }
      return std::string(bytes + desc_at, note.n_descsz);
    }
  }
  return "";
}

bool IsX8664Elf(Elf* elf) {
  GElf_Ehdr header;
  return elf != nullptr && elf_kind(elf) == ELF_K_ELF && gelf_getehdr(elf, &header) != nullptr &&
         header.e_machine == EM_X86_64;
}

// The function symbols of `elf`'s symbol tables, appended to `candidates` (their names point
// into libelf's copy of the file, alive until elf_end), and every defined symbol into
// `by_name` when it is not null.
void CollectSymbols(Elf* elf, bool function_table, std::vector<FunctionCandidate>& candidates,
                    absl::flat_hash_map<std::string, ElfSymbol>* by_name) {
  for (Elf_Scn* section = elf_nextscn(elf, nullptr); section != nullptr;
       section = elf_nextscn(elf, section)) {
    GElf_Shdr section_header;
    if (gelf_getshdr(section, &section_header) == nullptr) continue;
    if (section_header.sh_type != SHT_SYMTAB && section_header.sh_type != SHT_DYNSYM) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (data == nullptr || section_header.sh_entsize == 0) continue;
    const size_t count = section_header.sh_size / section_header.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym symbol;
      if (gelf_getsym(data, static_cast<int>(i), &symbol) == nullptr) continue;
      if (symbol.st_shndx == SHN_UNDEF || symbol.st_value == 0) continue;
      const char* name = elf_strptr(elf, section_header.sh_link, symbol.st_name);
      if (name == nullptr || *name == '\0') continue;
      if (by_name != nullptr)
        by_name->try_emplace(name, ElfSymbol{symbol.st_value, symbol.st_size});
      const int type = GELF_ST_TYPE(symbol.st_info);
      if (function_table && symbol.st_size > 0 && (type == STT_FUNC || type == STT_GNU_IFUNC)) {
        candidates.push_back({symbol.st_value, symbol.st_size, name, BindingRank(symbol.st_info)});
      }
    }
  }
}

// Symbols found outside the file itself: a separate debug file, and the ELF image
// .gnu_debugdata decompresses to. Each stays open while the function table is built from
// names pointing into it.
struct ExtraSymbolSource {
  UniqueFd fd;
  std::string image;
  ElfHandle handle;  // declared last: ended before the bytes it reads go
};

// The separate debug file for `build_id` under `root`, opened, when its own build id is the
// same: a debug file of another build names other code at the same addresses.
std::unique_ptr<ExtraSymbolSource> OpenDebugFile(const std::string& root,
                                                 const std::string& build_id, std::string* path) {
  const std::string hex = absl::BytesToHexString(build_id);
  *path = absl::StrCat(root, "/.build-id/", hex.substr(0, 2), "/", hex.substr(2), ".debug");
  auto source = std::make_unique<ExtraSymbolSource>();
  // O_NONBLOCK and a regular file only: the root may be the target's (/proc/PID/root), whose
  // owner could leave a FIFO there to hang the open or the read.
  source->fd = UniqueFd(::open(path->c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat info;
  if (!source->fd.valid() || ::fstat(source->fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return nullptr;
  }
  source->handle.elf = elf_begin(source->fd.get(), ELF_C_READ, nullptr);
  if (!IsX8664Elf(source->handle.elf) || ReadBuildId(source->handle.elf) != build_id) {
    return nullptr;
  }
  return source;
}

// The ELF image in `elf`'s .gnu_debugdata section, decompressed, when there is one and it
// decodes within `max_size` bytes.
std::unique_ptr<ExtraSymbolSource> OpenMiniDebugInfo(Elf* elf, size_t names_index,
                                                     uint64_t max_size) {
  for (Elf_Scn* section = elf_nextscn(elf, nullptr); section != nullptr;
       section = elf_nextscn(elf, section)) {
    GElf_Shdr header;
    if (gelf_getshdr(section, &header) == nullptr || header.sh_type != SHT_PROGBITS) continue;
    const char* name = elf_strptr(elf, names_index, header.sh_name);
    if (name == nullptr || std::strcmp(name, ".gnu_debugdata") != 0) continue;
    Elf_Data* data = elf_rawdata(section, nullptr);
    if (data == nullptr || data->d_buf == nullptr) return nullptr;
    absl::StatusOr<std::string> image = DecompressXz(
        absl::string_view(static_cast<const char*>(data->d_buf), data->d_size), max_size);
    if (!image.ok()) return nullptr;
    auto source = std::make_unique<ExtraSymbolSource>();
    source->image = *std::move(image);
    source->handle.elf = elf_memory(source->image.data(), source->image.size());
    if (!IsX8664Elf(source->handle.elf)) return nullptr;
    return source;
  }
  return nullptr;
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
    if (section_header.sh_type == SHT_SYMTAB) file.has_symtab_ = true;
  }
  file.build_id_ = ReadBuildId(elf);

  std::vector<FunctionCandidate> candidates;
  if (options.symbols_by_name || options.function_table) {
    CollectSymbols(elf, options.function_table, candidates,
                   options.symbols_by_name ? &file.symbols_ : nullptr);
  }
  // A file with its own .symtab already names its static functions; a stripped one may have
  // them elsewhere. Read once here, with the file: the table is then complete and kept.
  std::vector<std::unique_ptr<ExtraSymbolSource>> extra_sources;
  if (options.function_table && !file.has_symtab_) {
    for (size_t i = 0; i < options.debug_roots.size() && !file.build_id_.empty(); ++i) {
      std::string debug_path;
      if (auto source = OpenDebugFile(options.debug_roots[i], file.build_id_, &debug_path)) {
        CollectSymbols(source->handle.elf, true, candidates, nullptr);
        file.debug_file_ = std::move(debug_path);
        extra_sources.push_back(std::move(source));
        break;
      }
    }
    if (options.max_mini_debug_info_size > 0) {
      if (auto source = OpenMiniDebugInfo(elf, names_index, options.max_mini_debug_info_size)) {
        CollectSymbols(source->handle.elf, true, candidates, nullptr);
        file.has_mini_debug_info_ = true;
        extra_sources.push_back(std::move(source));
      }
    }
  }

  if (options.function_table) {
    // One entry per address, the preferred name first; .symtab repeats .dynsym's entries, and
    // a debug file the file's own.
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
