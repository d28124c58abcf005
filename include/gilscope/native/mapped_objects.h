// The executable mappings of a target, from /proc/PID/maps, with what unwinding and naming
// need of each: the mapped ELF object's load bias, its .eh_frame_hdr search table at runtime
// addresses, and its function symbols.
//
// Read once and kept, and only when needed: an ELF file is read the first time an address in
// it is looked up, once per (path, inode), and a mapping's bias and table once per
// (path, inode, start), so re-reading the maps after a library was loaded reads nothing more.
#ifndef GILSCOPE_NATIVE_MAPPED_OBJECTS_H_
#define GILSCOPE_NATIVE_MAPPED_OBJECTS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "gilscope/elf/elf_file.h"
#include "gilscope/memory/remote_memory.h"
#include "gilscope/native/symbolizer.h"
#include "gilscope/proc/proc_parsers.h"

namespace gilscope {

// One ELF file as the target maps it.
struct ObjectFile {
  std::string path;  // as /proc/PID/maps names it; "[vdso]" for the vDSO
  uint64_t inode = 0;
  std::vector<ElfRange> load_segments;      // PT_LOADs
  std::optional<ElfRange> eh_frame_header;  // PT_GNU_EH_FRAME
  Symbolizer symbols;
  bool is_interpreter = false;  // the object holding CPython's runtime
  std::string error;  // why the file could not be read; it then has no segments or symbols
};

// An ELF object read to name frames, as outputs identifying binaries want it (pprof's
// mappings): its path as the target maps it, and its build id in hex (empty: none).
struct ObjectIdentity {
  std::string path;
  std::string build_id;
};
// Identities kept at most: a target that loads and unloads libraries forever stays bounded.
inline constexpr size_t kMaxObjectIdentities = 4096;

// The .eh_frame_hdr binary-search table of a mapped object, at runtime addresses: what
// libunwind's UNW_INFO_FORMAT_REMOTE_TABLE wants (see native_unwinder.cc).
struct UnwindTable {
  uint64_t start_ip = 0;  // the object's PT_LOAD span
  uint64_t end_ip = 0;
  uint64_t segbase = 0;  // .eh_frame_hdr; the table's entries are relative to it
  uint64_t table = 0;    // the table: fde_count pairs of int32 (start ip, FDE offset)
  uint64_t fde_count = 0;
};

// One executable mapping of the target.
struct MappedObject {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t file_offset = 0;
  std::string path;  // as the maps name it; empty for anonymous memory
  uint64_t inode = 0;
  bool deleted = false;  // the maps say the file was deleted (or replaced) since it was mapped
  // Filled the first time Find() returns it: most mapped libraries never appear on a stack, so
  // their files are never read.
  bool resolved = false;
  uint64_t load_bias = 0;                   // runtime address minus link-time address
  ObjectFile* file = nullptr;               // null: anonymous executable memory (JIT code)
  std::optional<UnwindTable> unwind_table;  // none: no usable .eh_frame_hdr
};

// Reads the text of /proc/PID/maps. Tests substitute made-up mappings.
using MapsReader = std::function<absl::StatusOr<std::string>()>;

class MappedObjects {
 public:
  // `memory` reads the target (the .eh_frame_hdr header, the vDSO image) and must outlive
  // this; `interpreter_object` is the path of the object holding CPython's runtime. An empty
  // `read_maps` reads /proc/PID/maps. Separate debug files, which name the functions a stripped
  // object does not export, are looked up by build id under `debug_root` as the target sees it
  // (/proc/PID/root/...), then as this process does; empty: not looked up.
  MappedObjects(pid_t pid, RemoteMemory& memory, std::string interpreter_object,
                MapsReader read_maps = nullptr, std::string debug_root = kSystemDebugRoot);

  // Reads the maps again, keeping what it knows of unchanged mappings. Returns whether the
  // executable mappings changed since the previous call (the first call: whether there are any).
  absl::StatusOr<bool> Refresh();

  // The executable mapping holding `address`, resolved (its file read if need be), or null.
  // Valid until the next Refresh().
  const MappedObject* Find(uint64_t address);

  const std::vector<MappedObject>& mappings() const { return mappings_; }
  // Every ELF object read so far, those since unmapped included, in the order read.
  const std::vector<ObjectIdentity>& identities() const { return identities_; }
  // Counters, for tests and measurement.
  uint64_t maps_reads() const { return maps_reads_; }
  uint64_t files_read() const { return files_read_; }

 private:
  using FileKey = std::pair<std::string, uint64_t>;  // path, inode

  const MappedObject* FindUnresolved(uint64_t address) const;
  ObjectFile* LoadFile(const MappedObject& mapping);
  void Resolve(MappedObject& object);
  bool IsInterpreter(const std::string& opened_path, const std::string& maps_path) const;

  pid_t pid_;
  RemoteMemory& memory_;
  std::string interpreter_object_;
  std::optional<std::pair<uint64_t, uint64_t>> interpreter_id_;  // st_dev, st_ino
  MapsReader read_maps_;
  std::vector<std::string> debug_roots_;
  std::vector<MappedObject> mappings_;  // ordered by start
  std::vector<ObjectIdentity> identities_;
  absl::flat_hash_map<FileKey, std::unique_ptr<ObjectFile>> files_;
  uint64_t maps_reads_ = 0;
  uint64_t files_read_ = 0;
};

}  // namespace gilscope

#endif  // GILSCOPE_NATIVE_MAPPED_OBJECTS_H_
