#include "support/fake_elf.h"

#include <elf.h>

#include <cstring>

namespace gilscope::testing {
namespace {

template <typename T>
void Append(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

// libelf reads structures in place from a memory image: keep each table aligned.
void Align(std::string& out) { out.resize((out.size() + 7) & ~size_t{7}, '\0'); }

uint32_t AddName(std::string& table, const std::string& name) {
  const uint32_t at = static_cast<uint32_t>(table.size());
  table += name;
  table += '\0';
  return at;
}

}  // namespace

std::string WriteFakeElf(const FakeElfSpec& spec) {
  std::string symbol_names(1, '\0');
  std::string symbols(sizeof(Elf64_Sym), '\0');  // entry 0 is the undefined symbol
  for (const FakeElfSpec::Symbol& symbol : spec.symbols) {
    Elf64_Sym entry = {};
    entry.st_name = AddName(symbol_names, symbol.name);
    entry.st_info = ELF64_ST_INFO(STB_GLOBAL, symbol.function ? STT_FUNC : STT_OBJECT);
    entry.st_shndx = SHN_ABS;
    entry.st_value = symbol.address;
    entry.st_size = symbol.size;
    Append(symbols, entry);
  }
  std::string section_names(1, '\0');

  std::string out(sizeof(Elf64_Ehdr), '\0');
  const uint64_t program_headers = out.size();
  for (const FakeElfSpec::Segment& segment : spec.segments) {
    Elf64_Phdr header = {};
    header.p_type = PT_LOAD;
    header.p_flags = PF_R | (segment.writable ? PF_W : 0);
    header.p_offset = segment.file_offset;
    header.p_vaddr = header.p_paddr = segment.address;
    header.p_memsz = segment.size;
    header.p_align = 0x1000;
    Append(out, header);
  }
  Align(out);
  const uint64_t symbols_at = out.size();
  out += symbols;
  Align(out);
  const uint64_t symbol_names_at = out.size();
  out += symbol_names;
  Align(out);
  const uint64_t note_at = out.size();
  if (!spec.build_id.empty()) {
    Elf64_Nhdr note = {};
    note.n_namesz = 4;  // "GNU\0"
    note.n_descsz = static_cast<uint32_t>(spec.build_id.size());
    note.n_type = NT_GNU_BUILD_ID;
    Append(out, note);
    out.append("GNU\0", 4);
    out += spec.build_id;
    out.resize((out.size() + 3) & ~size_t{3}, '\0');
  }
  const uint64_t note_size = out.size() - note_at;
  std::vector<uint64_t> contents_at;
  for (const FakeElfSpec::Section& section : spec.sections) {
    Align(out);
    contents_at.push_back(out.size());
    out += section.contents;
  }

  std::vector<Elf64_Shdr> sections(1);  // section 0 is the null section
  Elf64_Shdr symbol_table = {};
  symbol_table.sh_name = AddName(section_names, spec.symtab ? ".symtab" : ".dynsym");
  symbol_table.sh_type = spec.symtab ? SHT_SYMTAB : SHT_DYNSYM;
  symbol_table.sh_offset = symbols_at;
  symbol_table.sh_size = symbols.size();
  symbol_table.sh_link = 2;
  symbol_table.sh_info = 1;
  symbol_table.sh_addralign = 8;
  symbol_table.sh_entsize = sizeof(Elf64_Sym);
  sections.push_back(symbol_table);
  Elf64_Shdr names = {};
  names.sh_name = AddName(section_names, spec.symtab ? ".strtab" : ".dynstr");
  names.sh_type = SHT_STRTAB;
  names.sh_offset = symbol_names_at;
  names.sh_size = symbol_names.size();
  names.sh_addralign = 1;
  sections.push_back(names);
  if (!spec.build_id.empty()) {
    Elf64_Shdr header = {};
    header.sh_name = AddName(section_names, ".note.gnu.build-id");
    header.sh_type = SHT_NOTE;
    header.sh_flags = SHF_ALLOC;
    header.sh_offset = note_at;
    header.sh_size = note_size;
    header.sh_addralign = 4;
    sections.push_back(header);
  }
  for (size_t i = 0; i < spec.sections.size(); ++i) {
    const FakeElfSpec::Section& section = spec.sections[i];
    Elf64_Shdr header = {};
    header.sh_name = AddName(section_names, section.name);
    header.sh_type = section.contents.empty() ? SHT_NOBITS : SHT_PROGBITS;
    header.sh_flags = section.contents.empty() ? SHF_ALLOC | SHF_WRITE : 0;
    header.sh_addr = section.address;
    header.sh_offset = section.contents.empty() ? 0 : contents_at[i];
    header.sh_size = section.contents.empty() ? section.size : section.contents.size();
    header.sh_addralign = section.contents.empty() ? 8 : 1;
    sections.push_back(header);
  }
  Elf64_Shdr section_name_table = {};
  section_name_table.sh_name = AddName(section_names, ".shstrtab");
  section_name_table.sh_type = SHT_STRTAB;
  section_name_table.sh_offset = out.size();
  section_name_table.sh_size = section_names.size();
  section_name_table.sh_addralign = 1;
  out += section_names;
  const uint16_t section_name_index = static_cast<uint16_t>(sections.size());
  sections.push_back(section_name_table);
  Align(out);
  const uint64_t section_headers = out.size();
  for (const Elf64_Shdr& header : sections) Append(out, header);

  Elf64_Ehdr header = {};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS64;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = spec.shared_object ? ET_DYN : ET_EXEC;
  header.e_machine = EM_X86_64;
  header.e_version = EV_CURRENT;
  header.e_phoff = spec.segments.empty() ? 0 : program_headers;
  header.e_shoff = section_headers;
  header.e_ehsize = sizeof(Elf64_Ehdr);
  header.e_phentsize = sizeof(Elf64_Phdr);
  header.e_phnum = static_cast<uint16_t>(spec.segments.size());
  header.e_shentsize = sizeof(Elf64_Shdr);
  header.e_shnum = static_cast<uint16_t>(sections.size());
  header.e_shstrndx = section_name_index;
  std::memcpy(out.data(), &header, sizeof header);
  return out;
}

}  // namespace gilscope::testing
