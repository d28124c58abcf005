// Function names from outside a stripped file: a separate debug file found by build id, and the
// xz-compressed ELF of .gnu_debugdata (MiniDebugInfo). Fixtures are made-up ELF images; the last
// test reads the system's libc and its libc6-dbg file when installed.
#include <gtest/gtest.h>
#include <lzma.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gilscope/elf/elf_file.h"
#include "gilscope/elf/xz_decompress.h"
#include "support/fake_elf.h"

namespace gilscope {
namespace {

using testing::FakeElfSpec;
using testing::WriteFakeElf;

constexpr uint64_t kExported = 0x1000;
constexpr uint64_t kHidden = 0x2000;
constexpr uint64_t kHiddenSize = 0x20;
const std::string kBuildId("\xab\xcd\x01\x02\x03\x04\x05\x06", 8);
const std::string kOtherBuildId("\xab\xcd\x01\x02\x03\x04\x05\x07", 8);

// A stripped object: only "exported" is in its .dynsym.
FakeElfSpec StrippedObject(std::string build_id) {
  FakeElfSpec spec;
  spec.symtab = false;
  spec.symbols = {{.name = "exported", .address = kExported, .size = 0x10, .function = true}};
  spec.build_id = std::move(build_id);
  return spec;
}

// What objcopy --only-keep-debug keeps that matters here: a .symtab naming every function.
std::string DebugImage(std::string build_id) {
  FakeElfSpec spec;
  spec.symbols = {
      {.name = "exported", .address = kExported, .size = 0x10, .function = true},
      {.name = "hidden_helper", .address = kHidden, .size = kHiddenSize, .function = true}};
  spec.build_id = std::move(build_id);
  return WriteFakeElf(spec);
}

std::string Xz(const std::string& data) {
  std::string out(lzma_stream_buffer_bound(data.size()), '\0');
  size_t size = 0;
  const lzma_ret result = lzma_easy_buffer_encode(
      6, LZMA_CHECK_CRC64, nullptr, reinterpret_cast<const uint8_t*>(data.data()), data.size(),
      reinterpret_cast<uint8_t*>(out.data()), &size, out.size());
  EXPECT_EQ(result, LZMA_OK);
  out.resize(size);
  return out;
}

std::optional<std::string> NameAt(const ElfFile& elf, uint64_t address) {
  const ElfFunctionTable::Function* function = elf.functions().Find(address);
  if (function == nullptr) return std::nullopt;
  return std::string(elf.functions().Name(*function));
}

ElfFile OpenOrDie(std::string image, ElfReadOptions options) {
  options.symbols_by_name = false;
  options.function_table = true;
  absl::StatusOr<ElfFile> elf = ElfFile::OpenImage("object", std::move(image), options);
  if (!elf.ok()) {
    ADD_FAILURE() << elf.status();
    std::abort();
  }
  return *std::move(elf);
}

// A temporary directory laid out as /usr/lib/debug.
class DebugRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/debug_root_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Files `image` where a debug file for `build_id` is looked up; returns its path.
  std::string WriteDebugFile(const std::string& build_id, const std::string& image) {
    const std::string hex = absl::BytesToHexString(build_id);
    const std::string dir = absl::StrCat(root_, "/.build-id/", hex.substr(0, 2));
    std::filesystem::create_directories(dir);
    const std::string path = absl::StrCat(dir, "/", hex.substr(2), ".debug");
    std::ofstream(path, std::ios::binary) << image;
    return path;
  }

  std::string root_;
};

TEST_F(DebugRootTest, DebugFileWithTheSameBuildIdNamesHiddenFunctions) {
  const std::string path = WriteDebugFile(kBuildId, DebugImage(kBuildId));
  ElfFile elf = OpenOrDie(WriteFakeElf(StrippedObject(kBuildId)), {.debug_roots = {root_}});
  EXPECT_EQ(elf.build_id(), kBuildId);
  EXPECT_EQ(elf.debug_file(), path);
  EXPECT_EQ(NameAt(elf, kExported + 4), "exported");
  EXPECT_EQ(NameAt(elf, kHidden), "hidden_helper");
  EXPECT_EQ(NameAt(elf, kHidden + kHiddenSize - 1), "hidden_helper");
  // The symbol's size still bounds it.
  EXPECT_EQ(NameAt(elf, kHidden + kHiddenSize), std::nullopt);
  ASSERT_EQ(elf.functions().functions().size(), 2u);  // "exported" is in both, kept once
}

TEST_F(DebugRootTest, LaterRootsAreTriedWhenEarlierOnesHaveNone) {
  WriteDebugFile(kBuildId, DebugImage(kBuildId));
  ElfFile elf = OpenOrDie(WriteFakeElf(StrippedObject(kBuildId)),
                          {.debug_roots = {root_ + "/missing", root_}});
  EXPECT_EQ(NameAt(elf, kHidden + 1), "hidden_helper");
}

TEST_F(DebugRootTest, DebugFilesNotOfThisBuildAreIgnored) {
  struct Case {
    const char* name;
    std::string debug_image;  // filed under kBuildId
  };
  const Case cases[] = {
      {"another build id", DebugImage(kOtherBuildId)},
      {"no build id", DebugImage("")},
      {"a shorter build id", DebugImage(kBuildId.substr(0, 4))},
      {"not an ELF file", "hidden_helper"},
      {"truncated", DebugImage(kBuildId).substr(0, 100)},
  };
  for (const Case& c : cases) {
    WriteDebugFile(kBuildId, c.debug_image);
    ElfFile elf = OpenOrDie(WriteFakeElf(StrippedObject(kBuildId)), {.debug_roots = {root_}});
    EXPECT_EQ(NameAt(elf, kExported), "exported") << c.name;
    EXPECT_EQ(NameAt(elf, kHidden), std::nullopt) << c.name;
    EXPECT_EQ(elf.debug_file(), "") << c.name;
  }
}

TEST_F(DebugRootTest, AFifoWhereTheDebugFileGoesIsNotWaitedOn) {
  const std::string path = WriteDebugFile(kBuildId, "");
  std::filesystem::remove(path);
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  ElfFile elf = OpenOrDie(WriteFakeElf(StrippedObject(kBuildId)), {.debug_roots = {root_}});
  EXPECT_EQ(NameAt(elf, kHidden), std::nullopt);
}

TEST_F(DebugRootTest, NotLookedUpWithoutRootOrBuildId) {
  WriteDebugFile(kBuildId, DebugImage(kBuildId));
  ElfFile no_root = OpenOrDie(WriteFakeElf(StrippedObject(kBuildId)), {});
  EXPECT_EQ(NameAt(no_root, kHidden), std::nullopt);
  ElfFile no_id = OpenOrDie(WriteFakeElf(StrippedObject("")), {.debug_roots = {root_}});
  EXPECT_EQ(no_id.build_id(), "");
  EXPECT_EQ(NameAt(no_id, kHidden), std::nullopt);
}

FakeElfSpec WithMiniDebugInfo(std::string compressed) {
  FakeElfSpec spec = StrippedObject(kBuildId);
  spec.sections.push_back({.name = ".gnu_debugdata", .contents = std::move(compressed)});
  return spec;
}

TEST(MiniDebugInfoTest, NamesHiddenFunctions) {
  ElfFile elf = OpenOrDie(WriteFakeElf(WithMiniDebugInfo(Xz(DebugImage("")))), {});
  EXPECT_TRUE(elf.has_mini_debug_info());
  EXPECT_EQ(NameAt(elf, kExported + 1), "exported");
  EXPECT_EQ(NameAt(elf, kHidden + 1), "hidden_helper");
  EXPECT_EQ(NameAt(elf, kHidden + kHiddenSize), std::nullopt);
  // Off when asked.
  ElfFile off = OpenOrDie(WriteFakeElf(WithMiniDebugInfo(Xz(DebugImage("")))),
                          {.max_mini_debug_info_size = 0});
  EXPECT_EQ(NameAt(off, kHidden + 1), std::nullopt);
}

TEST(MiniDebugInfoTest, UnusableSectionsAreIgnored) {
  const std::string image = DebugImage("");
  const std::string good = Xz(image);
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x55;
  struct Case {
    const char* name;
    std::string contents;
    uint64_t max_size = uint64_t{64} << 20;
  };
  const Case cases[] = {
      {"not xz",
       "\xfd"
       "7zXZ garbage garbage garbage"},
      {"truncated", good.substr(0, good.size() / 2)},
      {"a flipped byte", flipped},
      {"xz of something not ELF", Xz("hello, world")},
      {"larger than the cap", good, image.size() - 1},
      {"a bomb: 16 MiB of zeros over a 1 MiB cap", Xz(std::string(16 << 20, '\0')), 1 << 20},
  };
  for (const Case& c : cases) {
    ElfFile elf = OpenOrDie(WriteFakeElf(WithMiniDebugInfo(c.contents)),
                            {.max_mini_debug_info_size = c.max_size});
    EXPECT_FALSE(elf.has_mini_debug_info()) << c.name;
    EXPECT_EQ(NameAt(elf, kExported), "exported") << c.name;
    EXPECT_EQ(NameAt(elf, kHidden), std::nullopt) << c.name;
  }
}

TEST(XzDecompressTest, RoundTripsAndCaps) {
  const std::string data(100000, 'x');
  absl::StatusOr<std::string> out = DecompressXz(Xz(data), data.size());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, data);
  EXPECT_EQ(DecompressXz(Xz(data), data.size() - 1).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(DecompressXz("", 1000).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecompressXz(Xz("").substr(0, 5), 1000).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The case that motivated it: Debian's libc exports no symbol for its memory copy routines,
// and libc6-dbg's file names them.
TEST(SystemDebugFileTest, NamesLibcMemoryCopy) {
  constexpr char kLibc[] = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  const ElfReadOptions plain{.symbols_by_name = false, .function_table = true};
  absl::StatusOr<ElfFile> libc = ElfFile::Open(kLibc, plain);
  ASSERT_TRUE(libc.ok()) << libc.status();
  ASSERT_FALSE(libc->build_id().empty());
  const std::string hex = absl::BytesToHexString(libc->build_id());
  const std::string debug_path =
      absl::StrCat(kSystemDebugRoot, "/.build-id/", hex.substr(0, 2), "/", hex.substr(2), ".debug");
  absl::StatusOr<ElfFile> debug = ElfFile::Open(debug_path, {});
  if (!debug.ok()) GTEST_SKIP() << "no debug file for libc (libc6-dbg): " << debug_path;
  std::optional<ElfSymbol> memmove;
  for (const char* name : {"__memmove_avx512_unaligned_erms", "__memmove_evex_unaligned_erms",
                           "__memmove_avx_unaligned_erms", "__memmove_sse2_unaligned_erms"}) {
    if ((memmove = debug->FindSymbol(name))) break;
  }
  ASSERT_TRUE(memmove.has_value());
  EXPECT_EQ(libc->functions().Find(memmove->address + 1), nullptr);

  ElfReadOptions with_debug = plain;
  with_debug.debug_roots = {kSystemDebugRoot};
  absl::StatusOr<ElfFile> named = ElfFile::Open(kLibc, with_debug);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->debug_file(), debug_path);
  const ElfFunctionTable::Function* function = named->functions().Find(memmove->address + 1);
  ASSERT_NE(function, nullptr);
  // memmove and memcpy share their code (and address) in glibc's x86_64 string functions.
  const absl::string_view name = named->functions().Name(*function);
  EXPECT_TRUE(absl::StartsWith(name, "__memmove_") || absl::StartsWith(name, "__memcpy_")) << name;
  // Exported names still win over the debug file's aliases.
  const ElfFunctionTable::Function* read = named->functions().Find(
      libc->functions().Find(debug->FindSymbol("__libc_read")->address)->address);
  ASSERT_NE(read, nullptr);
  EXPECT_EQ(named->functions().Name(*read), "read");
}

}  // namespace
}  // namespace gilscope
