// The symbolizer and the ELF function table on real files: native_target (with its symbol table
// and stripped) and the system's libc.
#include <gtest/gtest.h>

#include <string>

#include "gilscope/elf/elf_file.h"
#include "gilscope/native/symbolizer.h"

namespace gilscope {
namespace {

constexpr char kLibc[] = "/usr/lib/x86_64-linux-gnu/libc.so.6";

ElfFile OpenOrDie(const std::string& path, ElfReadOptions options) {
  absl::StatusOr<ElfFile> elf = ElfFile::Open(path, options);
  if (!elf.ok()) {
    ADD_FAILURE() << elf.status();
    std::abort();
  }
  return *std::move(elf);
}

// Link-time address and size of `name`, from the file's symbol tables.
ElfSymbol SymbolOf(const std::string& path, const char* name) {
  ElfFile elf = OpenOrDie(path, {});
  std::optional<ElfSymbol> symbol = elf.FindSymbol(name);
  if (!symbol) {
    ADD_FAILURE() << name << " not in " << path;
    std::abort();
  }
  return *symbol;
}

Symbolizer SymbolizerFor(const std::string& path) {
  ElfFile elf = OpenOrDie(path, {.symbols_by_name = false, .function_table = true});
  return Symbolizer(std::move(elf.mutable_functions()));
}

TEST(DemangleSymbolTest, Names) {
  struct Case {
    const char* name;
    const char* mangled;
    const char* expected;
  };
  const Case cases[] = {
      {"member function", "_ZN13gilscope_test5Outer5innerEi", "gilscope_test::Outer::inner(int)"},
      {"free function", "_Z6middlei", "middle(int)"},
      {"anonymous namespace", "_ZN12_GLOBAL__N_111SpinnerMainEPv",
       "(anonymous namespace)::SpinnerMain(void*)"},
      {"GCC clone suffix", "_Z3fooi.constprop.0", "foo(int) [clone .constprop.0]"},
      {"C name", "PyEval_EvalCode", "PyEval_EvalCode"},
      {"not really mangled", "_Zgarbage", "_Zgarbage"},
      {"empty", "", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DemangleSymbol(c.mangled), c.expected) << c.name;
  }
}

TEST(SymbolizerTest, NamesAddressesInsideFunctionsOnly) {
  const std::string target = GILSCOPE_NATIVE_TARGET;
  Symbolizer symbols = SymbolizerFor(target);
  const ElfSymbol middle = SymbolOf(target, "_Z6middlei");
  const ElfSymbol inner = SymbolOf(target, "_ZN13gilscope_test5Outer5innerEi");
  ASSERT_GT(middle.size, 1u);

  struct Case {
    const char* name;
    uint64_t address;
    std::optional<std::string> expected;  // nullopt: no name
  };
  const Case cases[] = {
      {"first byte", middle.address, "middle(int)"},
      {"inside", middle.address + middle.size / 2, "middle(int)"},
      {"last byte", middle.address + middle.size - 1, "middle(int)"},
      {"demangled member", inner.address + 1, "gilscope_test::Outer::inner(int)"},
      {"below every function", 0x10, std::nullopt},
      {"far above every function", uint64_t{1} << 40, std::nullopt},
  };
  for (const Case& c : cases) {
    std::optional<Symbolizer::Symbol> symbol = symbols.Lookup(c.address);
    if (!c.expected) {
      EXPECT_FALSE(symbol.has_value()) << c.name << ": " << symbol->name;
      continue;
    }
    ASSERT_TRUE(symbol.has_value()) << c.name;
    EXPECT_EQ(symbol->name, *c.expected) << c.name;
  }
  // The byte after a function is never named after it (the next one, or nothing).
  std::optional<Symbolizer::Symbol> after = symbols.Lookup(middle.address + middle.size);
  if (after) {
    EXPECT_NE(after->name, "middle(int)");
  }
  // The start and size are the symbol's.
  std::optional<Symbolizer::Symbol> symbol = symbols.Lookup(inner.address + 3);
  ASSERT_TRUE(symbol.has_value());
  EXPECT_EQ(symbol->start, inner.address);
  EXPECT_EQ(symbol->size, inner.size);
}

TEST(SymbolizerTest, GapsBetweenFunctionsAreUnnamed) {
  ElfFile elf = OpenOrDie(kLibc, {.symbols_by_name = false, .function_table = true});
  const auto& functions = elf.functions().functions();
  ASSERT_GT(functions.size(), 1000u);
  int gaps = 0;
  for (size_t i = 0; i + 1 < functions.size() && gaps < 50; ++i) {
    const uint64_t end = functions[i].address + functions[i].size;
    if (end >= functions[i + 1].address) continue;
    ++gaps;
    EXPECT_EQ(elf.functions().Find(end), nullptr) << elf.functions().Name(functions[i]);
    EXPECT_EQ(elf.functions().Find(end - 1), &functions[i]);
  }
  EXPECT_GT(gaps, 0);
}

TEST(SymbolizerTest, StrippedFileNamesOnlyItsExportedFunction) {
  const std::string target = GILSCOPE_NATIVE_TARGET;
  Symbolizer stripped = SymbolizerFor(GILSCOPE_NATIVE_TARGET_STRIPPED);
  // Addresses are the same in both files: objcopy --strip-all only drops sections.
  const ElfSymbol spin = SymbolOf(target, "native_target_spin");
  std::optional<Symbolizer::Symbol> symbol = stripped.Lookup(spin.address + 4);
  ASSERT_TRUE(symbol.has_value());
  EXPECT_EQ(symbol->name, "native_target_spin");
  // Static and unexported functions have no name, and are not given the nearest exported one.
  for (const char* name : {"_Z6middlei", "_Z5outerv", "main", "_ZN13gilscope_test5Outer5innerEi"}) {
    const ElfSymbol function = SymbolOf(target, name);
    EXPECT_FALSE(stripped.Lookup(function.address + 1).has_value()) << name;
  }
}

TEST(SymbolizerTest, AliasesPreferThePlainName) {
  // libc's read has the aliases __read (and __libc_read in .symtab when present).
  Symbolizer libc = SymbolizerFor(kLibc);
  const ElfSymbol read = SymbolOf(kLibc, "read");
  std::optional<Symbolizer::Symbol> symbol = libc.Lookup(read.address + 1);
  ASSERT_TRUE(symbol.has_value());
  EXPECT_EQ(symbol->name, "read");
  const ElfSymbol pause = SymbolOf(kLibc, "pause");
  symbol = libc.Lookup(pause.address);
  ASSERT_TRUE(symbol.has_value());
  EXPECT_EQ(symbol->name, "pause");
}

TEST(ElfFileTest, FunctionTableIsOrderedAndOptional) {
  ElfFile with = OpenOrDie(kLibc, {.symbols_by_name = true, .function_table = true});
  const auto& functions = with.functions().functions();
  for (size_t i = 1; i < functions.size(); ++i) {
    ASSERT_LT(functions[i - 1].address, functions[i].address);
    ASSERT_GT(functions[i].size, 0u);
  }
  EXPECT_TRUE(with.FindSymbol("read").has_value());
  ASSERT_TRUE(with.eh_frame_header().has_value());
  EXPECT_GT(with.eh_frame_header()->size, 8u);
  // The default options keep the old behaviour: names indexed, no function table.
  ElfFile plain = OpenOrDie(kLibc, {});
  EXPECT_TRUE(plain.functions().empty());
  EXPECT_TRUE(plain.FindSymbol("read").has_value());
}

}  // namespace
}  // namespace gilscope
