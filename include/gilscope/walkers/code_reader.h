// Decodes code objects (names, file, line table) and caches them: the same code objects
// appear in sample after sample, and their strings never change.
#ifndef GILSCOPE_WALKERS_CODE_READER_H_
#define GILSCOPE_WALKERS_CODE_READER_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/memory/remote_memory.h"

namespace gilscope {

struct CodeInfo {
  std::string name;
  std::string qualname;  // equals name where the version has no co_qualname
  std::string filename;
  int first_line = 0;
  std::string line_table;
  RemoteAddress bytecode_start = 0;  // 3.11+: where instruction offsets count from
};

class CodeReader {
 public:
  // `code_type` is &PyCode_Type in the target when known (0 skips the type check).
  CodeReader(RemoteMemory& memory, const PythonLayout& layout, RemoteAddress code_type = 0);

  // The decoded code object at `address`. The pointer stays valid until the next call that
  // misses the cache and finds the cache full.
  absl::StatusOr<const CodeInfo*> Read(RemoteAddress address);

  size_t cached() const { return cache_.size(); }

 private:
  // The code object's header fields whose equality makes a cached entry valid: a freed code
  // object's address can be reused by another one.
  struct Identity {
    uint64_t filename = 0, name = 0, qualname = 0, line_table = 0;
    int32_t first_line = 0;
    bool operator==(const Identity&) const = default;
  };
  struct Entry {
    Identity identity;
    CodeInfo info;
  };
  absl::StatusOr<std::string> ReadText(RemoteAddress address);

  RemoteMemory& memory_;
  const PythonLayout& layout_;
  RemoteAddress code_type_;
  size_t header_size_;
  absl::flat_hash_map<RemoteAddress, Entry> cache_;
  absl::flat_hash_map<RemoteAddress, std::string> text_cache_;
};

}  // namespace gilscope

#endif  // GILSCOPE_WALKERS_CODE_READER_H_
