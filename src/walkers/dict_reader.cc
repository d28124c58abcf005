#include "gilscope/walkers/dict_reader.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"

namespace gilscope {
namespace {

// Longest key looked up (a name-mangled attribute, a module name), so key headers fit a stack
// buffer.
constexpr size_t kMaxKeyLength = 64;
// DICT_KEYS_GENERAL / UNICODE / SPLIT (Include/internal/pycore_dict.h, 3.11+).
constexpr uint8_t kDictKeysGeneral = 0;
constexpr uint8_t kDictKeysSplit = 2;

}  // namespace

DictReader::DictReader(RemoteMemory& memory, const PythonLayout& layout)
    : memory_(memory),
      layout_(layout),
      type_offset_(static_cast<size_t>(ObjectTypeOffset(layout))) {}

absl::StatusOr<DictReader::Header> DictReader::ReadHeader(RemoteAddress dict) {
  if (dict < kLowestValidAddress) return absl::DataLossError("null dict");
  const PythonLayout::Dict& d = layout_.dict;
  Header header;
  header.size =
      BytesToCover({layout_.objects.ob_type.present() ? layout_.objects.ob_type : kObjectType,
                    d.used, d.table, d.mask, d.keys, d.values});
  if (header.size > sizeof header.bytes)
    return absl::InternalError("dict layout larger than expected");
  RETURN_IF_ERROR(memory_.Read(dict, header.bytes, header.size));
  return header;
}

absl::StatusOr<DictReader::Entries> DictReader::ReadDict(RemoteAddress dict) {
  ASSIGN_OR_RETURN(const Header header, ReadHeader(dict));
  return ReadEntries(dict, header);
}

absl::StatusOr<DictReader::Entries> DictReader::ReadEntries(RemoteAddress dict,
                                                            const Header& dict_header) {
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

absl::StatusOr<DictReader::Entries> DictReader::ReadOpenTable(const uint8_t* header) {
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

absl::StatusOr<DictReader::Entries> DictReader::ReadKeys(RemoteAddress keys) {
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

absl::Status DictReader::ApplySplitValues(RemoteAddress values, Entries& entries) {
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

absl::StatusOr<DictReader::Entries> DictReader::ReadSplitInstance(RemoteAddress type,
                                                                  RemoteAddress values) {
  // Values without a dict use the keys their class shares among its instances.
  ASSIGN_OR_RETURN(
      const RemoteAddress keys,
      ReadValue<uint64_t>(memory_, type + layout_.objects.heap_type_cached_keys.offset));
  ASSIGN_OR_RETURN(Entries entries, ReadKeys(keys));
  RETURN_IF_ERROR(ApplySplitValues(values, entries));
  return entries;
}

absl::StatusOr<RemoteAddress> DictReader::FindStrKey(const Entries& entries,
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

bool DictReader::IsStr(RemoteAddress address, absl::string_view text) {
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
