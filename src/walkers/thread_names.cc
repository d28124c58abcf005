#include "gilscope/walkers/thread_names.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>

#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/walkers/python_strings.h"

namespace gilscope {
namespace {

// Where managed dicts live before the object header (MANAGED_DICT_OFFSET and the values
// pointer of Include/internal/pycore_object.h; macros, so not in the layout tables).
constexpr int64_t kManagedDictOffset = -24;
constexpr int64_t kManagedValuesOffset311 = -32;
// Type flags (Include/object.h): the same bits in 3.11, 3.12 and 3.13.
constexpr uint64_t kTpFlagsManagedDict = 1u << 4;
constexpr uint64_t kTpFlagsInlineValues = 1u << 2;  // 3.13
// Sanity bounds on a type's sizes: Thread's instance layout is a bare object.
constexpr int64_t kMaxInstanceOffset = 1 << 16;
// Bounds on what one recording keeps; past them the caches start over.
constexpr size_t kMaxCachedNames = 1 << 14;
constexpr size_t kMaxCachedInterpreters = 256;
// Longest key looked up (a name-mangled attribute), so key headers fit a stack buffer.
constexpr size_t kMaxKeyLength = 32;
// DICT_KEYS_GENERAL / UNICODE / SPLIT (Include/internal/pycore_dict.h, 3.11+).
constexpr uint8_t kDictKeysGeneral = 0;
constexpr uint8_t kDictKeysSplit = 2;

// threading._active's keys are idents as ints. An int's hash is its value modulo 2^61 - 1 on
// 3.x (Objects/longobject.c long_hash, _PyHASH_MODULUS); on 2.7 it is the value itself
// (Objects/intobject.c int_hash), -1 being reserved for errors and becoming -2. Idents are
// pthread_t addresses, below 2^61 - 1 and distinct, so the hash alone identifies the entry.
uint64_t IdentHash(const PythonLayout& layout, uint64_t ident) {
  if (layout.dict_model == DictModel::kOpenTable27) {
    return ident == ~uint64_t{0} ? ~uint64_t{1} : ident;
  }
  constexpr uint64_t kModulus = (uint64_t{1} << 61) - 1;
  return ident % kModulus;
}

}  // namespace

ThreadNameReader::ThreadNameReader(RemoteMemory& memory, const PythonLayout& layout)
    : memory_(memory),
      layout_(layout),
      type_offset_(static_cast<size_t>(ObjectTypeOffset(layout))) {}

bool ThreadNameReader::ReuseNames(const InterpreterRecord& interpreter,
                                  std::vector<std::string>& names) {
  auto calls = calls_since_active_read_.find(interpreter.address);
  if (calls == calls_since_active_read_.end() || calls->second + 1 >= kActiveRecheckCalls) {
    return false;
  }
  for (size_t i = 0; i < interpreter.threads.size(); ++i) {
    const ThreadRecord& thread = interpreter.threads[i];
    auto cached = names_.find(NameKey{thread.thread_state, thread.thread_id});
    if (cached == names_.end() || cached->second.uses >= kNameReuseLimit) return false;
  }
  for (size_t i = 0; i < interpreter.threads.size(); ++i) {
    const ThreadRecord& thread = interpreter.threads[i];
    CachedName& cached = names_.at(NameKey{thread.thread_state, thread.thread_id});
    ++cached.uses;
    names[i] = cached.name;
  }
  ++calls->second;
  return true;
}

std::vector<std::string> ThreadNameReader::ReadNames(const InterpreterRecord& interpreter) {
  std::vector<std::string> names(interpreter.threads.size());
  if (!layout_.objects.interp_modules.present()) return names;
  if (ReuseNames(interpreter, names)) return names;
  if (calls_since_active_read_.size() >= kMaxCachedInterpreters) calls_since_active_read_.clear();
  calls_since_active_read_[interpreter.address] = 0;
  absl::StatusOr<RemoteAddress> active = FindActiveDict(interpreter.address);
  if (!active.ok() || *active == 0) return names;
  absl::StatusOr<Entries> entries = ReadDict(*active);
  if (!entries.ok() || !entries->has_hash) return names;
  absl::flat_hash_map<uint64_t, RemoteAddress> thread_objects;  // by the ident's hash
  for (const Entry& entry : entries->items) {
    if (entry.key != 0 && entry.value != 0) thread_objects.try_emplace(entry.hash, entry.value);
  }

  for (size_t i = 0; i < interpreter.threads.size(); ++i) {
    const ThreadRecord& thread = interpreter.threads[i];
    const NameKey key{thread.thread_state, thread.thread_id};
    auto found = thread_objects.find(IdentHash(layout_, thread.thread_id));
    if (found == thread_objects.end()) {  // not a thread threading knows (not yet, no longer)
      if (names_.size() >= kMaxCachedNames) names_.clear();
      names_[key] = CachedName{};
      continue;
    }
    const RemoteAddress thread_object = found->second;
    auto cached = names_.find(key);
    if (cached != names_.end() && cached->second.thread_object == thread_object &&
        cached->second.uses < kNameReuseLimit) {
      ++cached->second.uses;
      names[i] = cached->second.name;
      continue;
    }
    absl::StatusOr<std::string> name = ReadThreadName(thread_object);
    if (!name.ok()) {  // may be torn (--nonblocking): try again next time
      names_.erase(key);
      continue;
    }
    if (names_.size() >= kMaxCachedNames) names_.clear();
    names_[key] = CachedName{thread_object, 0, *name};
    names[i] = std::move(*name);
  }
  return names;
}

absl::StatusOr<RemoteAddress> ThreadNameReader::FindActiveDict(RemoteAddress interpreter) {
  if (interpreter < kLowestValidAddress) return absl::DataLossError("null interpreter");
  ASSIGN_OR_RETURN(
      const RemoteAddress modules,
      ReadValue<uint64_t>(memory_, interpreter + layout_.objects.interp_modules.offset));
  // NULL early in start-up and late in shutdown.
  if (modules < kLowestValidAddress) return absl::NotFoundError("no modules dict");
  ASSIGN_OR_RETURN(const DictHeader header, ReadDictHeader(modules));
  // interp->modules is a dict by construction (Python/import.c): its type is the dict type.
  dict_type_ = LoadAt<uint64_t>(header.bytes, type_offset_);

  // The dict's header past the refcount (type, size, keys, version) changes whenever a
  // module is imported or replaced: until it does, threading._active is where it was.
  const uint8_t* signature = header.bytes + type_offset_;
  const size_t signature_size = header.size - type_offset_;
  auto cached = interpreters_.find(interpreter);
  if (cached != interpreters_.end() && cached->second.modules == modules &&
      cached->second.modules_header.size() == signature_size &&
      std::memcmp(cached->second.modules_header.data(), signature, signature_size) == 0) {
    return cached->second.active;
  }
  absl::StatusOr<RemoteAddress> active = LookUpActiveDict(modules, header);
  if (!active.ok()) {  // e.g. threading half imported: look again next time
    interpreters_.erase(interpreter);
    return active.status();
  }
  if (interpreters_.size() >= kMaxCachedInterpreters) interpreters_.clear();
  interpreters_[interpreter] = InterpreterCache{
      modules, std::vector<uint8_t>(signature, signature + signature_size), *active};
  return *active;
}

absl::StatusOr<RemoteAddress> ThreadNameReader::LookUpActiveDict(RemoteAddress modules,
                                                                 const DictHeader& header) {
  ASSIGN_OR_RETURN(const Entries modules_entries, ReadDictEntries(modules, header));
  absl::StatusOr<RemoteAddress> module = FindStrKey(modules_entries, "threading");
  if (absl::IsNotFound(module.status())) return 0;  // not imported: no thread has a name
  RETURN_IF_ERROR(module.status());
  ASSIGN_OR_RETURN(const RemoteAddress globals,
                   ReadValue<uint64_t>(memory_, *module + layout_.objects.module_dict.offset));
  ASSIGN_OR_RETURN(const Entries globals_entries, ReadDict(globals));
  return FindStrKey(globals_entries, "_active");
}

absl::StatusOr<std::string> ThreadNameReader::ReadThreadName(RemoteAddress thread_object) {
  if (layout_.objects.thread_name_attribute == nullptr) {
    return absl::UnimplementedError("no thread name attribute for this version");
  }
  ASSIGN_OR_RETURN(const RemoteAddress name,
                   InstanceAttribute(thread_object, layout_.objects.thread_name_attribute));
  // Thread.name's setter stores str(name): anything else is not the name.
  ASSIGN_OR_RETURN(const RemoteAddress type, ReadValue<uint64_t>(memory_, name + type_offset_));
  if (str_type_ == 0 || type != str_type_) return absl::DataLossError("thread name is not a str");
  return ReadPythonText(memory_, layout_, name);
}

absl::StatusOr<RemoteAddress> ThreadNameReader::InstanceAttribute(RemoteAddress object,
                                                                  absl::string_view name) {
  if (object < kLowestValidAddress) return absl::DataLossError("null object");
  ASSIGN_OR_RETURN(const RemoteAddress type, ReadValue<uint64_t>(memory_, object + type_offset_));
  if (type < kLowestValidAddress) return absl::DataLossError("object without a type");
  const PythonLayout::Objects& o = layout_.objects;
  uint64_t flags = 0;
  if (o.type_flags.present()) {
    ASSIGN_OR_RETURN(flags, ReadValue<uint64_t>(memory_, type + o.type_flags.offset));
    if ((flags & kTpFlagsManagedDict) == 0) return absl::NotFoundError("no managed dict");
  }
  Entries entries;
  switch (layout_.instance_dicts) {
    case InstanceDictModel::kDictOffset: {
      ASSIGN_OR_RETURN(const int64_t offset,
                       ReadValue<int64_t>(memory_, type + o.type_dictoffset.offset));
      // Negative offsets count from the end of variable-size objects; Thread is not one.
      if (offset <= 0 || offset > kMaxInstanceOffset) return absl::NotFoundError("no __dict__");
      ASSIGN_OR_RETURN(const RemoteAddress dict, ReadValue<uint64_t>(memory_, object + offset));
      ASSIGN_OR_RETURN(entries, ReadDict(dict));
      break;
    }
    case InstanceDictModel::kManagedDict311: {
      uint64_t pointers[2];  // values at obj-32, dict at obj-24
      RETURN_IF_ERROR(memory_.Read(object + kManagedValuesOffset311, pointers, sizeof pointers));
      if (pointers[1] != 0) {
        ASSIGN_OR_RETURN(entries, ReadDict(pointers[1]));
      } else {
        ASSIGN_OR_RETURN(entries, ReadSplitInstance(type, pointers[0]));
      }
      break;
    }
    case InstanceDictModel::kManagedDict312: {
      // PyDictOrValues: the values pointer minus one (low bit set), or the dict.
      ASSIGN_OR_RETURN(const uint64_t word,
                       ReadValue<uint64_t>(memory_, object + kManagedDictOffset));
      if (word & 1) {
        ASSIGN_OR_RETURN(entries, ReadSplitInstance(type, word + 1));
      } else {
        ASSIGN_OR_RETURN(entries, ReadDict(word));
      }
      break;
    }
    case InstanceDictModel::kInlineValues313: {
      // Once __dict__ is made, the dict pointer is set and the dict is the truth.
      ASSIGN_OR_RETURN(const RemoteAddress dict,
                       ReadValue<uint64_t>(memory_, object + kManagedDictOffset));
      if (dict != 0) {
        ASSIGN_OR_RETURN(entries, ReadDict(dict));
        break;
      }
      if ((flags & kTpFlagsInlineValues) == 0) return absl::NotFoundError("no attributes");
      ASSIGN_OR_RETURN(const int64_t basic_size,
                       ReadValue<int64_t>(memory_, type + o.type_basicsize.offset));
      if (basic_size < 16 || basic_size > kMaxInstanceOffset) {
        return absl::DataLossError(absl::StrFormat("type of absurd size %d", basic_size));
      }
      const RemoteAddress values = object + static_cast<uint64_t>(basic_size);
      ASSIGN_OR_RETURN(const uint8_t valid,
                       ReadValue<uint8_t>(memory_, values + layout_.dict.values_valid.offset));
      if (!valid) return absl::DataLossError("inline values invalidated but no dict");
      ASSIGN_OR_RETURN(entries, ReadSplitInstance(type, values));
      break;
    }
  }
  return FindStrKey(entries, name);
}

absl::StatusOr<ThreadNameReader::DictHeader> ThreadNameReader::ReadDictHeader(RemoteAddress dict) {
  if (dict < kLowestValidAddress) return absl::DataLossError("null dict");
  const PythonLayout::Dict& d = layout_.dict;
  DictHeader header;
  header.size =
      BytesToCover({layout_.objects.ob_type.present() ? layout_.objects.ob_type : kObjectType,
                    d.used, d.table, d.mask, d.keys, d.values});
  if (header.size > sizeof header.bytes)
    return absl::InternalError("dict layout larger than expected");
  RETURN_IF_ERROR(memory_.Read(dict, header.bytes, header.size));
  return header;
}

absl::StatusOr<ThreadNameReader::Entries> ThreadNameReader::ReadDict(RemoteAddress dict) {
  ASSIGN_OR_RETURN(const DictHeader header, ReadDictHeader(dict));
  return ReadDictEntries(dict, header);
}

absl::StatusOr<ThreadNameReader::Entries> ThreadNameReader::ReadDictEntries(
    RemoteAddress dict, const DictHeader& dict_header) {
  const PythonLayout::Dict& d = layout_.dict;
  const uint8_t* header = dict_header.bytes;
  if (dict_type_ == 0 || LoadAt<uint64_t>(header, type_offset_) != dict_type_) {
    return absl::DataLossError(absl::StrFormat("object at 0x%x is not a dict", dict));
  }
  const int64_t used = LoadAt<int64_t>(header, d.used.offset);
  if (used < 0 || used > kMaxDictEntries) {
    return absl::DataLossError(absl::StrFormat("dict of absurd size %d", used));
  }
  if (layout_.dict_model == DictModel::kOpenTable27) return ReadOpenTable(header);
  ASSIGN_OR_RETURN(Entries entries, ReadKeys(LoadAt<uint64_t>(header, d.keys.offset)));
  const RemoteAddress values = LoadAt<uint64_t>(header, d.values.offset);
  if (values != 0) RETURN_IF_ERROR(ApplySplitValues(values, entries));
  return entries;
}

absl::StatusOr<ThreadNameReader::Entries> ThreadNameReader::ReadOpenTable(const uint8_t* header) {
  const PythonLayout::Dict& d = layout_.dict;
  const int64_t mask = LoadAt<int64_t>(header, d.mask.offset);
  const RemoteAddress table = LoadAt<uint64_t>(header, d.table.offset);
  // ma_mask + 1 slots, a power of two (Objects/dictobject.c).
  if (mask < 0 || mask >= kMaxDictEntries || ((mask + 1) & mask) != 0) {
    return absl::DataLossError(absl::StrFormat("dict with absurd mask %d", mask));
  }
  if (table < kLowestValidAddress) return absl::DataLossError("dict without a table");
  const size_t entry_size = static_cast<size_t>(d.entry_value.offset) + 8;
  const size_t slots = static_cast<size_t>(mask) + 1;
  std::vector<uint8_t> raw(slots * entry_size);
  RETURN_IF_ERROR(memory_.Read(table, raw.data(), raw.size()));
  Entries entries;
  entries.has_hash = true;
  for (size_t i = 0; i < slots; ++i) {
    const size_t at = i * entry_size;
    // Empty slots have no key; deleted ones keep a dummy key with no value.
    const Entry entry{LoadAt<uint64_t>(raw.data(), at + d.entry_hash.offset),
                      LoadAt<uint64_t>(raw.data(), at + d.entry_key.offset),
                      LoadAt<uint64_t>(raw.data(), at + d.entry_value.offset)};
    if (entry.key != 0 && entry.value != 0) entries.items.push_back(entry);
  }
  return entries;
}

absl::StatusOr<ThreadNameReader::Entries> ThreadNameReader::ReadKeys(RemoteAddress keys) {
  if (keys < kLowestValidAddress) return absl::DataLossError("dict without keys");
  const PythonLayout::Dict& d = layout_.dict;
  uint8_t header[64];
  const size_t header_size = static_cast<size_t>(d.keys_indices.offset);
  if (header_size > sizeof header) return absl::InternalError("keys layout larger than expected");
  RETURN_IF_ERROR(memory_.Read(keys, header, header_size));
  const int64_t count = LoadAt<int64_t>(header, d.keys_nentries.offset);
  Entries entries;
  entries.has_hash = true;
  uint64_t slots = 0;
  uint64_t index_bytes = 0;
  Field key = d.entry_key, value = d.entry_value;
  if (layout_.dict_model == DictModel::kCompact36) {
    // Indices are 1, 2, 4 or 8 bytes each as dk_size needs (Objects/dict-common.h DK_IXSIZE).
    const int64_t size = LoadAt<int64_t>(header, d.keys_size.offset);
    if (size < 1 || size > kMaxDictEntries * 2 || (size & (size - 1)) != 0) {
      return absl::DataLossError(absl::StrFormat("dict keys of absurd size %d", size));
    }
    slots = static_cast<uint64_t>(size);
    index_bytes = slots * (slots <= 0xff ? 1 : slots <= 0xffff ? 2 : 4);
  } else {
    // 1 << dk_log2_index_bytes bytes of indices; str-only tables keep (key, value) entries.
    const uint8_t log2_size = header[d.keys_log2_size.offset];
    const uint8_t log2_index_bytes = header[d.keys_log2_index_bytes.offset];
    const uint8_t kind = header[d.keys_kind.offset];
    if (log2_size > 20 || log2_index_bytes < log2_size || log2_index_bytes > log2_size + 3 ||
        kind > kDictKeysSplit) {
      return absl::DataLossError("dict keys with absurd sizes");
    }
    slots = uint64_t{1} << log2_size;
    index_bytes = uint64_t{1} << log2_index_bytes;
    if (kind != kDictKeysGeneral) {
      entries.has_hash = false;
      key = d.unicode_entry_key;
      value = d.unicode_entry_value;
    }
  }
  if (count < 0 || static_cast<uint64_t>(count) > slots || count > kMaxDictEntries) {
    return absl::DataLossError(absl::StrFormat("dict keys with absurd count %d", count));
  }
  const size_t entry_size = static_cast<size_t>(value.offset) + 8;
  if (count == 0) return entries;
  std::vector<uint8_t> raw(static_cast<size_t>(count) * entry_size);
  RETURN_IF_ERROR(memory_.Read(keys + header_size + index_bytes, raw.data(), raw.size()));
  entries.items.resize(static_cast<size_t>(count));
  for (size_t i = 0; i < entries.items.size(); ++i) {
    const size_t at = i * entry_size;
    Entry& entry = entries.items[i];
    if (entries.has_hash) entry.hash = LoadAt<uint64_t>(raw.data(), at + d.entry_hash.offset);
    entry.key = LoadAt<uint64_t>(raw.data(), at + key.offset);
    entry.value = LoadAt<uint64_t>(raw.data(), at + value.offset);
  }
  return entries;
}

absl::Status ThreadNameReader::ApplySplitValues(RemoteAddress values, Entries& entries) {
  // Split tables keep keys shared and values per dict, value i for entry i.
  if (values < kLowestValidAddress) return absl::DataLossError("split dict without values");
  const PythonLayout::Dict& d = layout_.dict;
  if (d.values_capacity.present()) {
    ASSIGN_OR_RETURN(const uint8_t capacity,
                     ReadValue<uint8_t>(memory_, values + d.values_capacity.offset));
    if (entries.items.size() > capacity) return absl::DataLossError("more keys than values");
  }
  if (entries.items.empty()) return absl::OkStatus();
  const RemoteAddress array = values + (d.values_array.present() ? d.values_array.offset : 0);
  std::vector<uint64_t> slots(entries.items.size());
  RETURN_IF_ERROR(memory_.Read(array, slots.data(), slots.size() * sizeof(uint64_t)));
  for (size_t i = 0; i < slots.size(); ++i) entries.items[i].value = slots[i];
  return absl::OkStatus();
}

absl::StatusOr<ThreadNameReader::Entries> ThreadNameReader::ReadSplitInstance(
    RemoteAddress type, RemoteAddress values) {
  // Values without a dict use the keys their class shares among its instances.
  ASSIGN_OR_RETURN(
      const RemoteAddress keys,
      ReadValue<uint64_t>(memory_, type + layout_.objects.heap_type_cached_keys.offset));
  ASSIGN_OR_RETURN(Entries entries, ReadKeys(keys));
  RETURN_IF_ERROR(ApplySplitValues(values, entries));
  return entries;
}

absl::StatusOr<RemoteAddress> ThreadNameReader::FindStrKey(const Entries& entries,
                                                           absl::string_view key) {
  auto value_of = [](const Entry& entry) -> absl::StatusOr<RemoteAddress> {
    if (entry.value < kLowestValidAddress) return absl::DataLossError("dict value is invalid");
    return entry.value;
  };
  // Keys naming attributes and modules are interned: every dict holding "_name" shares one
  // object, so the one seen before is tried first and saves reading the other keys.
  auto known = key_objects_.find(key);
  if (known != key_objects_.end()) {
    for (const Entry& entry : entries.items) {
      if (entry.key == known->second && entry.value != 0 && IsStr(entry.key, key)) {
        return value_of(entry);
      }
    }
  }
  for (const Entry& entry : entries.items) {
    if (entry.key == 0 || entry.value == 0) continue;  // free slot or deleted key
    if (IsStr(entry.key, key)) {
      key_objects_[key] = entry.key;
      return value_of(entry);
    }
  }
  return absl::NotFoundError(absl::StrFormat("no key \"%s\"", key));
}

bool ThreadNameReader::IsStr(RemoteAddress address, absl::string_view text) {
  if (address < kLowestValidAddress || text.size() > kMaxKeyLength) return false;
  const PythonLayout::Strings& s = layout_.strings;
  const bool bytes27 = layout_.string_model == StringModel::kPyString27;
  const size_t data = bytes27 ? static_cast<size_t>(s.bytes_data.offset) : s.ascii_data;
  uint8_t buffer[128];
  if (data + text.size() > sizeof buffer) return false;
  // One read for header and text. A key that is not a str may be smaller than that; the read
  // then shows garbage (or fails), and garbage does not match.
  if (!memory_.Read(address, buffer, data + text.size()).ok()) return false;
  if (bytes27) {
    if (LoadAt<int64_t>(buffer, s.bytes_size.offset) != static_cast<int64_t>(text.size())) {
      return false;
    }
  } else {
    const uint32_t state = LoadAt<uint32_t>(buffer, s.unicode_state.offset);
    // Compact ASCII, 1-byte kind (Include/cpython/unicodeobject.h state bits).
    const UnicodeState decoded = DecodeUnicodeState(layout_, state);
    const bool compact_ascii = decoded.kind == 1 && decoded.compact && decoded.ascii;
    if (!compact_ascii ||
        LoadAt<int64_t>(buffer, s.unicode_length.offset) != static_cast<int64_t>(text.size())) {
      return false;
    }
  }
  if (std::memcmp(buffer + data, text.data(), text.size()) != 0) return false;
  str_type_ = LoadAt<uint64_t>(buffer, type_offset_);
  return true;
}

}  // namespace gilscope
