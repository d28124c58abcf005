#include "gilscope/native/mapped_objects.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/proc/task_reader.h"

namespace gilscope {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kMaxVdsoSize = 1 << 20;  // the vDSO is two pages; anything huge is not it

// DWARF pointer encodings of .eh_frame_hdr (LSB Core, "DWARF Extensions"; libunwind's
// include/dwarf.h): the low nibble is the value's format, the next three bits how to apply it.
constexpr uint8_t kEhFrameHdrVersion = 1;
constexpr uint8_t kPeOmit = 0xff;
constexpr uint8_t kPeFormatMask = 0x0f;
constexpr uint8_t kPeApplicationMask = 0x70;
constexpr uint8_t kPeDatarelSdata4 = 0x30 | 0x0b;

// Reads a value in `encoding`'s format at `*pos`, advancing it; how the value applies
// (pc-relative, ...) is left to the caller. False when the format is unknown or runs past the end.
bool ReadEncoded(const uint8_t* bytes, size_t size, size_t* pos, uint8_t encoding,
                 uint64_t* value) {
  auto fixed = [&](size_t width, bool is_signed) {
    if (size - *pos < width) return false;
    uint64_t v = 0;
    std::memcpy(&v, bytes + *pos, width);  // little-endian target
    if (is_signed && width < 8 && (v >> (8 * width - 1)) != 0) v |= ~uint64_t{0} << (8 * width);
    *value = v;
    *pos += width;
    return true;
  };
  auto leb128 = [&](bool is_signed) {
    uint64_t v = 0;
    int shift = 0;
    while (*pos < size && shift < 64) {
      const uint8_t byte = bytes[(*pos)++];
      v |= uint64_t{byte & 0x7fu} << shift;
      shift += 7;
      if ((byte & 0x80) == 0) {
        if (is_signed && shift < 64 && (byte & 0x40) != 0) v |= ~uint64_t{0} << shift;
        *value = v;
        return true;
      }
    }
    return false;
  };
  switch (encoding & kPeFormatMask) {
    case 0x00:
      return fixed(8, false);  // absptr
    case 0x01:
      return leb128(false);
    case 0x02:
      return fixed(2, false);
    case 0x03:
      return fixed(4, false);
    case 0x04:
      return fixed(8, false);
    case 0x09:
      return leb128(true);
    case 0x0a:
      return fixed(2, true);
    case 0x0b:
      return fixed(4, true);
    case 0x0c:
      return fixed(8, true);
    default:
      return false;
  }
}

// The search table of an .eh_frame_hdr loaded at `header` (runtime address, `size` bytes), laid
// out as libunwind's dwarf_find_unwind_table expects (src/dwarf/Gfind_unwind_table.c):
//   u8 version, u8 eh_frame_ptr_enc, u8 fde_count_enc, u8 table_enc,
//   eh_frame_ptr, fde_count, then fde_count (int32 start, int32 fde) pairs relative to `header`.
// The header is read from the target's memory, not from the file: libunwind reads the table and
// the FDEs it points to from the target's memory, so the header describing them comes from the
// same bytes; it costs one small read once per mapped object, and works for the vDSO, which has
// no file. Only DW_EH_PE_datarel|DW_EH_PE_sdata4 tables are usable (libunwind aborts on others).
std::optional<UnwindTable> ReadUnwindTable(RemoteMemory& memory, uint64_t header, uint64_t size) {
  std::array<uint8_t, 32> bytes{};
  const size_t wanted = std::min<uint64_t>(size, bytes.size());
  if (wanted < 4 || !memory.Read(header, bytes.data(), wanted).ok()) return std::nullopt;
  const uint8_t version = bytes[0], eh_frame_ptr_enc = bytes[1], fde_count_enc = bytes[2],
                table_enc = bytes[3];
  if (version != kEhFrameHdrVersion || table_enc != kPeDatarelSdata4) return std::nullopt;
  if (fde_count_enc == kPeOmit || (fde_count_enc & kPeApplicationMask) != 0) return std::nullopt;
  size_t pos = 4;
  uint64_t ignored = 0, fde_count = 0;
  if (eh_frame_ptr_enc != kPeOmit &&
      !ReadEncoded(bytes.data(), wanted, &pos, eh_frame_ptr_enc, &ignored)) {
    return std::nullopt;
  }
  if (!ReadEncoded(bytes.data(), wanted, &pos, fde_count_enc, &fde_count)) return std::nullopt;
  // A count the segment cannot hold is garbage: libunwind would binary-search past the table.
  if (fde_count == 0 || fde_count > (size - pos) / 8) return std::nullopt;
  UnwindTable table;
  table.segbase = header;
  table.table = header + pos;
  table.fde_count = fde_count;
  return table;
}

// The PT_LOAD holding file offset `offset`: mappings start page-aligned below p_offset.
const ElfRange* SegmentAtOffset(const std::vector<ElfRange>& segments, uint64_t offset) {
  for (const ElfRange& segment : segments) {
    const uint64_t first = segment.file_offset & ~(kPageSize - 1);
    if (offset >= first && offset < segment.file_offset + std::max<uint64_t>(segment.size, 1)) {
      return &segment;
    }
  }
  return nullptr;
}

std::optional<std::pair<uint64_t, uint64_t>> FileId(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return std::make_pair(static_cast<uint64_t>(info.st_dev), static_cast<uint64_t>(info.st_ino));
}

bool SameMapping(const MappedObject& object, const MemoryMapping& mapping) {
  return object.start == mapping.start && object.end == mapping.end &&
         object.file_offset == mapping.file_offset && object.path == mapping.path &&
         object.inode == mapping.inode && object.deleted == mapping.deleted;
}

// Anonymous code (JIT) and the kernel's pseudo-mappings other than the vDSO ([vsyscall]) have
// no ELF object.
bool HasObject(const std::string& path) {
  return !path.empty() && (path[0] != '[' || path == "[vdso]");
}

}  // namespace

MappedObjects::MappedObjects(pid_t pid, RemoteMemory& memory, std::string interpreter_object,
                             MapsReader read_maps, std::string debug_root)
    : pid_(pid),
      memory_(memory),
      interpreter_object_(std::move(interpreter_object)),
      read_maps_(std::move(read_maps)) {
  if (!debug_root.empty()) {
    // A build id names one build, so a debug file found in either tree is the right one.
    debug_roots_ = {absl::StrFormat("/proc/%d/root%s", pid_, debug_root), debug_root};
  }
  if (!interpreter_object_.empty()) {
    interpreter_id_ = FileId(absl::StrFormat("/proc/%d/root%s", pid_, interpreter_object_));
    if (!interpreter_id_) interpreter_id_ = FileId(interpreter_object_);
  }
}

bool MappedObjects::IsInterpreter(const std::string& opened_path,
                                  const std::string& maps_path) const {
  if (interpreter_object_.empty()) return false;
  if (maps_path == interpreter_object_) return true;
  // The same file under another name (a symlink, a hard link, another mount): same inode.
  return interpreter_id_.has_value() && FileId(opened_path) == interpreter_id_;
}

ObjectFile* MappedObjects::LoadFile(const MappedObject& mapping) {
  FileKey key(mapping.path, mapping.inode);
  auto it = files_.find(key);
  if (it != files_.end()) return it->second.get();
  ++files_read_;
  auto file = std::make_unique<ObjectFile>();
  file->path = mapping.path;
  file->inode = mapping.inode;
  const ElfReadOptions options{
      .symbols_by_name = false, .function_table = true, .debug_roots = debug_roots_};

  absl::StatusOr<ElfFile> elf = absl::NotFoundError("not tried");
  std::string opened;
  if (mapping.path == "[vdso]") {
    // The kernel's vDSO exists only in memory: its whole ELF image is the mapping.
    const uint64_t size = mapping.end - mapping.start;
    if (size <= kMaxVdsoSize) {
      std::string image(size, '\0');
      if (memory_.Read(mapping.start, image.data(), size).ok()) {
        elf = ElfFile::OpenImage(mapping.path, std::move(image), options);
      }
    }
  } else {
    // The exact file mapped, even deleted, replaced or in another mount namespace, through
    // map_files (needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE); then the path in the target's
    // root; then the path here. A path whose inode differs from the mapping's may be another
    // file: when the maps say the mapped one was deleted (an upgrade replaced it), it is, and
    // is never read (unnamed frames rather than misnamed ones); otherwise the name still leads
    // to the mapped file and the numbers differ by the filesystem's doing (overlayfs), so it
    // is read when nothing better opens.
    const std::string candidates[] = {
        absl::StrFormat("/proc/%d/map_files/%x-%x", pid_, mapping.start, mapping.end),
        absl::StrFormat("/proc/%d/root%s", pid_, mapping.path), mapping.path};
    std::string fallback;
    for (size_t i = 0; i < std::size(candidates) && !elf.ok(); ++i) {
      const std::string& candidate = candidates[i];
      std::optional<std::pair<uint64_t, uint64_t>> id = FileId(candidate);
      if (!id) continue;
      if (i > 0 && id->second != mapping.inode) {
        if (fallback.empty() && !mapping.deleted) fallback = candidate;
        continue;
      }
      elf = ElfFile::Open(candidate, options);
      if (elf.ok()) opened = candidate;
    }
    if (!elf.ok() && !fallback.empty()) {
      elf = ElfFile::Open(fallback, options);
      if (elf.ok()) opened = fallback;
    }
  }
  if (elf.ok()) {
    file->load_segments = elf->load_segments();
    file->eh_frame_header = elf->eh_frame_header();
    file->symbols = Symbolizer(std::move(elf->mutable_functions()));
    file->is_interpreter = IsInterpreter(opened.empty() ? mapping.path : opened, mapping.path);
    if (identities_.size() < kMaxObjectIdentities) {
      identities_.push_back({mapping.path, absl::BytesToHexString(elf->build_id())});
    }
  } else {
    file->error = std::string(elf.status().message());
    file->is_interpreter = mapping.path == interpreter_object_ && !interpreter_object_.empty();
  }
  ObjectFile* result = file.get();
  files_.emplace(std::move(key), std::move(file));
  return result;
}

void MappedObjects::Resolve(MappedObject& object) {
  object.resolved = true;
  if (!HasObject(object.path)) return;
  ObjectFile* file = LoadFile(object);
  object.file = file;
  // A PT_LOAD's bytes at file offset X sit at runtime address start + (X - offset) and at
  // link-time address p_vaddr + (X - p_offset); the difference is the bias.
  const ElfRange* segment = SegmentAtOffset(file->load_segments, object.file_offset);
  object.load_bias = segment == nullptr ? object.start - object.file_offset
                                        : object.start - object.file_offset + segment->file_offset -
                                              segment->address;
  if (!file->eh_frame_header.has_value() || file->load_segments.empty()) return;
  const ElfRange& header = *file->eh_frame_header;
  std::optional<UnwindTable> table =
      ReadUnwindTable(memory_, header.address + object.load_bias, header.size);
  if (!table.has_value()) return;
  // The span of all PT_LOADs, as dwarf_find_unwind_table sets di.start_ip / di.end_ip.
  uint64_t low = UINT64_MAX, high = 0;
  for (const ElfRange& load : file->load_segments) {
    low = std::min(low, load.address);
    high = std::max(high, load.address + load.size);
  }
  table->start_ip = low + object.load_bias;
  table->end_ip = high + object.load_bias;
  // A table outside the object is garbage.
  if (table->table < table->start_ip || table->table + table->fde_count * 8 > table->end_ip) return;
  object.unwind_table = table;
}

absl::StatusOr<bool> MappedObjects::Refresh() {
  ++maps_reads_;
  absl::StatusOr<std::string> text =
      read_maps_ ? read_maps_() : ReadProcFile(absl::StrFormat("/proc/%d/maps", pid_));
  if (!text.ok()) return text.status();
  ASSIGN_OR_RETURN(std::vector<MemoryMapping> maps, ParseMaps(*text));

  std::vector<MappedObject> next;
  bool changed = false;
  size_t kept = 0;
  for (const MemoryMapping& mapping : maps) {
    if (!mapping.executable || mapping.end <= mapping.start) continue;
    const MappedObject* known = FindUnresolved(mapping.start);
    if (known != nullptr && SameMapping(*known, mapping)) {
      next.push_back(*known);
      ++kept;
      continue;
    }
    changed = true;
    MappedObject object;
    object.start = mapping.start;
    object.end = mapping.end;
    object.file_offset = mapping.file_offset;
    object.path = mapping.path;
    object.inode = mapping.inode;
    object.deleted = mapping.deleted;
    next.push_back(std::move(object));
  }
  if (kept != mappings_.size()) changed = true;
  std::sort(next.begin(), next.end(),
            [](const MappedObject& a, const MappedObject& b) { return a.start < b.start; });
  mappings_ = std::move(next);
  if (changed) {
    // Forget the files no longer mapped (a library unloaded); one still mapped but not looked
    // up in its new place is read again if it ever is.
    absl::flat_hash_set<const ObjectFile*> used;
    for (const MappedObject& object : mappings_) used.insert(object.file);
    absl::erase_if(files_, [&](const auto& entry) { return !used.contains(entry.second.get()); });
  }
  return changed;
}

const MappedObject* MappedObjects::FindUnresolved(uint64_t address) const {
  auto it = std::upper_bound(mappings_.begin(), mappings_.end(), address,
                             [](uint64_t a, const MappedObject& m) { return a < m.start; });
  if (it == mappings_.begin()) return nullptr;
  --it;
  return address < it->end ? &*it : nullptr;
}

const MappedObject* MappedObjects::Find(uint64_t address) {
  auto* object = const_cast<MappedObject*>(FindUnresolved(address));
  if (object != nullptr && !object->resolved) Resolve(*object);
  return object;
}

}  // namespace gilscope
