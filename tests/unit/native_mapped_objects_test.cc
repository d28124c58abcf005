// MappedObjects over this test process's own mappings (the real thing: PIE executable, libc,
// the vDSO) and over made-up maps.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_format.h"
#include "gilscope/memory/process_memory.h"
#include "gilscope/native/mapped_objects.h"
#include "gilscope/proc/task_reader.h"
#include "support/fake_memory.h"

namespace gilscope {
namespace {

using testing::FakeMemory;

constexpr char kLibc[] = "/usr/lib/x86_64-linux-gnu/libc.so.6";

__attribute__((noinline)) int FunctionInThisBinary(int x) { return x * 3 + 1; }

class OwnMappingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<bool> changed = objects_.Refresh();
    ASSERT_TRUE(changed.ok()) << changed.status();
    EXPECT_TRUE(*changed);
  }
  // The first (offset 0) mapping of `path`: where its ELF header, link-time address 0, is.
  uint64_t BaseOf(const std::string& path) {
    absl::StatusOr<std::string> text = ReadProcFile("/proc/self/maps");
    absl::StatusOr<std::vector<MemoryMapping>> maps = ParseMaps(*text);
    for (const MemoryMapping& mapping : *maps) {
      if (mapping.path == path && mapping.file_offset == 0) return mapping.start;
    }
    ADD_FAILURE() << path << " not mapped";
    return 0;
  }

  ProcessMemory memory_{::getpid()};
  MappedObjects objects_{::getpid(), memory_, kLibc};
};

TEST_F(OwnMappingsTest, ExecutableCodeGetsItsObjectAndBias) {
  const uint64_t address = reinterpret_cast<uint64_t>(&FunctionInThisBinary);
  const MappedObject* object = objects_.Find(address);
  ASSERT_NE(object, nullptr);
  ASSERT_NE(object->file, nullptr);
  char exe[4096] = {};
  ASSERT_GT(::readlink("/proc/self/exe", exe, sizeof(exe) - 1), 0);
  EXPECT_EQ(object->file->path, exe);
  EXPECT_FALSE(object->file->is_interpreter);
  // A PIE's link-time addresses start at 0: the bias is where its first page is mapped.
  EXPECT_EQ(object->load_bias, BaseOf(exe));
  std::optional<Symbolizer::Symbol> symbol =
      object->file->symbols.Lookup(address - object->load_bias);
  ASSERT_TRUE(symbol.has_value());
  EXPECT_EQ(symbol->name, "gilscope::(anonymous namespace)::FunctionInThisBinary(int)");
  EXPECT_TRUE(object->unwind_table.has_value());
}

TEST_F(OwnMappingsTest, LibcHasItsSearchTable) {
  // libc's own clock_gettime (a sanitizer runtime may interpose its own on the plain name).
  void* libc = ::dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
  ASSERT_NE(libc, nullptr);
  const uint64_t address = reinterpret_cast<uint64_t>(::dlsym(libc, "clock_gettime"));
  ::dlclose(libc);
  const MappedObject* object = objects_.Find(address);
  ASSERT_NE(object, nullptr);
  ASSERT_NE(object->file, nullptr);
  EXPECT_EQ(object->file->path, kLibc);
  EXPECT_TRUE(object->file->is_interpreter);  // named so in this test's MappedObjects
  EXPECT_EQ(object->load_bias, BaseOf(kLibc));
  ASSERT_TRUE(object->unwind_table.has_value());
  const UnwindTable& table = *object->unwind_table;
  ASSERT_TRUE(object->file->eh_frame_header.has_value());
  EXPECT_EQ(table.segbase, object->file->eh_frame_header->address + object->load_bias);
  EXPECT_GT(table.fde_count, 1000u);
  EXPECT_GT(table.table, table.segbase);
  EXPECT_LE(table.start_ip, object->start);
  EXPECT_GE(table.end_ip, object->end - 4096);
  // The table's first entry is the lowest FDE's start, relative to segbase, inside libc.
  int32_t first_start = 0;
  ASSERT_TRUE(memory_.Read(table.table, &first_start, sizeof(first_start)).ok());
  EXPECT_GE(table.segbase + first_start, table.start_ip);
  EXPECT_LT(table.segbase + first_start, table.end_ip);
}

TEST_F(OwnMappingsTest, VdsoIsReadFromMemory) {
  void* vdso = ::dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (vdso == nullptr) GTEST_SKIP() << "no vDSO";
  void* function = ::dlsym(vdso, "__vdso_clock_gettime");
  ASSERT_NE(function, nullptr);
  const MappedObject* object = objects_.Find(reinterpret_cast<uint64_t>(function));
  ASSERT_NE(object, nullptr);
  ASSERT_NE(object->file, nullptr);
  EXPECT_EQ(object->file->path, "[vdso]");
  EXPECT_EQ(object->file->error, "");
  std::optional<Symbolizer::Symbol> symbol =
      object->file->symbols.Lookup(reinterpret_cast<uint64_t>(function) - object->load_bias);
  ASSERT_TRUE(symbol.has_value());
  // clock_gettime and __vdso_clock_gettime share the address: the plain name is preferred.
  EXPECT_EQ(symbol->name, "clock_gettime");
  EXPECT_TRUE(object->unwind_table.has_value());
  ::dlclose(vdso);
}

TEST_F(OwnMappingsTest, RefreshKeepsWhatIsUnchanged) {
  EXPECT_EQ(objects_.files_read(), 0u);  // nothing looked up yet: no file read
  const MappedObject* before = objects_.Find(reinterpret_cast<uint64_t>(&FunctionInThisBinary));
  ASSERT_NE(before, nullptr);
  const uint64_t files = objects_.files_read();
  EXPECT_EQ(files, 1u);
  const ObjectFile* file = before->file;
  absl::StatusOr<bool> changed = objects_.Refresh();
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
  EXPECT_EQ(objects_.files_read(), files);
  EXPECT_EQ(objects_.Find(reinterpret_cast<uint64_t>(&FunctionInThisBinary))->file, file);
  EXPECT_EQ(objects_.maps_reads(), 2u);
}

TEST(MappedObjectsTest, MadeUpMaps) {
  FakeMemory memory;
  std::string text =
      "00400000-00401000 r-xp 00000000 00:00 0 \n"
      "00401000-00402000 rw-p 00000000 00:00 0 \n"
      "00500000-00501000 r-xp 00002000 fe:00 12345 /no/such/library.so\n"
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";
  MappedObjects objects(::getpid(), memory, "/no/such/library.so",
                        [&] { return absl::StatusOr<std::string>(text); });
  ASSERT_TRUE(objects.Refresh().ok());
  EXPECT_EQ(objects.mappings().size(), 3u);  // executable mappings only

  const MappedObject* anonymous = objects.Find(0x400800);
  ASSERT_NE(anonymous, nullptr);
  EXPECT_EQ(anonymous->file, nullptr);
  EXPECT_EQ(objects.Find(0x401800), nullptr);  // not executable

  const MappedObject* missing = objects.Find(0x500000);
  ASSERT_NE(missing, nullptr);
  ASSERT_NE(missing->file, nullptr);
  EXPECT_NE(missing->file->error, "");
  EXPECT_TRUE(missing->file->is_interpreter);  // by its path, though it cannot be read
  EXPECT_EQ(missing->load_bias, 0x500000u - 0x2000u);
  EXPECT_FALSE(missing->unwind_table.has_value());
  EXPECT_EQ(objects.Find(0x501000), nullptr);

  const MappedObject* vsyscall = objects.Find(0xffffffffff600400);
  ASSERT_NE(vsyscall, nullptr);
  EXPECT_EQ(vsyscall->file, nullptr);

  // A library unloaded: changed, and the file forgotten.
  text = "00400000-00401000 r-xp 00000000 00:00 0 \n";
  absl::StatusOr<bool> changed = objects.Refresh();
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(objects.Find(0x500000), nullptr);
  EXPECT_EQ(objects.files_read(), 1u);

  text = "garbage";
  EXPECT_FALSE(objects.Refresh().ok());
}

TEST(MappedObjectsTest, AFileWithAnotherInodeIsReadOnlyWhenTheMappedOneWasNotDeleted) {
  // No such mapping in this process, so /proc/self/map_files cannot open it: the path decides.
  FakeMemory memory;
  const std::string text = absl::StrFormat(
      "00500000-00501000 r-xp 00001000 fe:00 999999999 %s\n"
      "00600000-00601000 r-xp 00001000 fe:00 999999998 %s (deleted)\n",
      kLibc, kLibc);
  MappedObjects objects(::getpid(), memory, "", [&] { return absl::StatusOr<std::string>(text); });
  ASSERT_TRUE(objects.Refresh().ok());
  // Not deleted: the name still leads to the mapped file (the inode numbers differ as overlayfs
  // makes them), so it is read.
  const MappedObject* present = objects.Find(0x500000);
  ASSERT_NE(present, nullptr);
  EXPECT_EQ(present->file->error, "");
  EXPECT_FALSE(present->file->load_segments.empty());
  // Deleted: the file at that path now is another one (an upgrade); never read.
  const MappedObject* replaced = objects.Find(0x600000);
  ASSERT_NE(replaced, nullptr);
  EXPECT_NE(replaced->file->error, "");
  EXPECT_TRUE(replaced->file->load_segments.empty());
  EXPECT_FALSE(replaced->file->symbols.Lookup(0x1000).has_value());
}

}  // namespace
}  // namespace gilscope
