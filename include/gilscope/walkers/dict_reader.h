// Reads dicts of a target from outside, in every layout's format (DictModel): the entries of a
// dict, of a split instance's values, and str-keyed lookups. Every size is capped and every
// pointer checked: a hostile target only makes reads fail.
#ifndef GILSCOPE_WALKERS_DICT_READER_H_
#define GILSCOPE_WALKERS_DICT_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/memory/remote_memory.h"

namespace gilscope {

// Dicts with more entries than this are taken as corrupt (sys.modules is the largest read).
inline constexpr int64_t kMaxDictEntries = 1 << 16;

class DictReader {
 public:
  DictReader(RemoteMemory& memory, const PythonLayout& layout);

  // One dict entry, in table order; free and deleted ones have no key or no value. `hash` is
  // meaningful only where `has_hash` (str-only tables of 3.11+ do not store hashes).
  struct Entry {
    uint64_t hash = 0;
    RemoteAddress key = 0;
    RemoteAddress value = 0;
  };
  struct Entries {
    bool has_hash = false;
    std::vector<Entry> items;
  };
  // A dict object's fixed part, read once: type, size, table or keys, values.
  struct Header {
    uint8_t bytes[64];
    size_t size = 0;
  };

  // The type every dict read must have: learned by callers from a dict by construction
  // (interp->modules). Until it is set, every read fails.
  void set_dict_type(RemoteAddress type) { dict_type_ = type; }
  // The str type, learned from the last key that matched (0 until one did).
  RemoteAddress str_type() const { return str_type_; }

  absl::StatusOr<Header> ReadHeader(RemoteAddress dict);
  // Both check the object is a dict.
  absl::StatusOr<Entries> ReadDict(RemoteAddress dict);
  absl::StatusOr<Entries> ReadEntries(RemoteAddress dict, const Header& header);
  // The attributes of an instance without a dict: its class's shared keys, its own values.
  absl::StatusOr<Entries> ReadSplitInstance(RemoteAddress type, RemoteAddress values);
  // The value under the compact ASCII str `key`; NotFound when no key matches.
  absl::StatusOr<RemoteAddress> FindStrKey(const Entries& entries, absl::string_view key);
  // Whether `address` is a compact ASCII str equal to `text` (at most 64 characters).
  bool IsStr(RemoteAddress address, absl::string_view text);

 private:
  absl::StatusOr<Entries> ReadOpenTable(const uint8_t* header);
  absl::StatusOr<Entries> ReadKeys(RemoteAddress keys);
  absl::Status ApplySplitValues(RemoteAddress values_array, Entries& entries);

  RemoteMemory& memory_;
  const PythonLayout& layout_;
  size_t type_offset_;  // of PyObject::ob_type in every object read
  RemoteAddress dict_type_ = 0;
  RemoteAddress str_type_ = 0;
  absl::flat_hash_map<std::string, RemoteAddress> key_objects_;  // interned keys seen
};

}  // namespace gilscope

#endif  // GILSCOPE_WALKERS_DICT_READER_H_
