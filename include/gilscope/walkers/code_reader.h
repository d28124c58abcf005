// Decodes code objects (names, file, line table) and caches them: the same code objects
// appear in sample after sample.
#ifndef GILSCOPE_WALKERS_CODE_READER_H_
#define GILSCOPE_WALKERS_CODE_READER_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/memory/remote_memory.h"
#include "gilscope/sample/shared_text.h"

namespace gilscope {

struct CodeInfo {
  std::string name;
  // Shared with every frame made from this code object (no copy per frame per sample).
  SharedText qualname;  // equals name where the version has no co_qualname
  SharedText filename;
  int first_line = 0;
  std::string line_table;
  // Where instruction offsets count from: 3.11+ co_code_adaptive inside the code object,
  // <= 3.10 the bytes of co_code (for reading the opcode at an offset).
  RemoteAddress bytecode_start = 0;
  // Free-threaded 3.14+: co_tlbc, the array of per-thread bytecode copies (entry 0 is
  // bytecode_start); a frame's tlbc_index says which copy its instr_ptr points into.
  RemoteAddress tlbc = 0;

  // The line of the instruction at `byte_offset`, decoded from line_table once per offset
  // (a frame that stays in one place is looked up in sample after sample).
  int LineAt(LineTableFormat format, int byte_offset) const;

 private:
  mutable absl::flat_hash_map<int, int> lines_;  // byte offset -> line
};

class CodeReader {
 public:
  // `code_type` is &PyCode_Type in the target when known (0 skips the type check).
  CodeReader(RemoteMemory& memory, const PythonLayout& layout, RemoteAddress code_type = 0);

  // The decoded code object at `address`. The pointer stays valid until the next call that
  // misses the cache and finds the cache full.
  //
  // A cached entry is used only after checking, against the target, that the object at
  // `address` is still that code object: the same header pointers (name, qualname, file, line
  // table, <= 3.10 co_code, first line), and the objects they point to (co_code aside: only
  // its address is used) still have the same header (type, size, hash) and start with the
  // same bytes. A freed code object's address, and its strings' addresses, can be reused by
  // others (CPython's allocator hands freed blocks out again first), so equal pointers alone
  // do not prove it. Within samples (BeginSample), an entry is checked once every
  // kRecheckSamples samples and trusted in between: a frame keeps its code object alive, so
  // the address a frame names holds a code object, and it can only be another one if the
  // first was freed and a new one compiled into its block. That happens only to code made at
  // run time (exec, eval), and goes unseen for at most that many samples, where checking
  // every code object of every stack costs each sample a page read per object and string.
  absl::StatusOr<const CodeInfo*> Read(RemoteAddress address);

  // Starts a sample: an entry checked during one of the last kRecheckSamples samples is
  // trusted in this one.
  // Only for memory that cannot change within a sample from the reader's point of view, such
  // as a PageCache cleared at the start of each sample. Without it every Read() checks.
  void BeginSample() { ++sample_; }

  size_t cached() const { return cache_.size(); }

  static constexpr uint64_t kRecheckSamples = 16;

 private:
  // The code object's header fields whose equality makes a cached entry a candidate.
  struct Identity {
    uint64_t filename = 0, name = 0, qualname = 0, line_table = 0, code = 0;
    int32_t first_line = 0;
    bool operator==(const Identity&) const = default;
  };
  struct Entry {
    Identity identity;
    std::string stamps;       // what Stamp() gave for the identity's objects when decoded
    uint64_t checked_in = 0;  // the sample it was last checked in (0: none)
    CodeInfo info;
  };
  // Appends the identifying bytes of the str/bytes object at `address`: its header past the
  // reference count and up to kStampContent bytes of its contents.
  absl::Status AppendStamp(RemoteAddress address, bool is_text, std::string& out);
  absl::Status Stamp(const Identity& identity, std::string& out);

  RemoteMemory& memory_;
  const PythonLayout& layout_;
  RemoteAddress code_type_;
  size_t header_size_;
  size_t type_offset_;   // of PyObject::ob_type in every object read
  uint64_t sample_ = 0;  // 0: no BeginSample() yet, every Read() checks
  std::string stamps_;   // scratch, reused
  absl::flat_hash_map<RemoteAddress, Entry> cache_;
};

}  // namespace gilscope

#endif  // GILSCOPE_WALKERS_CODE_READER_H_
