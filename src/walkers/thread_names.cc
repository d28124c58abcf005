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
      dicts_(memory, layout),
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
  absl::StatusOr<DictReader::Entries> entries = dicts_.ReadDict(*active);
  if (!entries.ok() || !entries->has_hash) return names;
  absl::flat_hash_map<uint64_t, RemoteAddress> thread_objects;  // by the ident's hash
  for (const DictReader::Entry& entry : entries->items) {
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
  ASSIGN_OR_RETURN(const DictReader::Header header, dicts_.ReadHeader(modules));
  // interp->modules is a dict by construction (Python/import.c): its type is the dict type.
  dicts_.set_dict_type(LoadAt<uint64_t>(header.bytes, type_offset_));

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
                                                                 const DictReader::Header& header) {
  ASSIGN_OR_RETURN(const DictReader::Entries modules_entries, dicts_.ReadEntries(modules, header));
  absl::StatusOr<RemoteAddress> module = dicts_.FindStrKey(modules_entries, "threading");
  if (absl::IsNotFound(module.status())) return 0;  // not imported: no thread has a name
  RETURN_IF_ERROR(module.status());
  ASSIGN_OR_RETURN(const RemoteAddress globals,
                   ReadValue<uint64_t>(memory_, *module + layout_.objects.module_dict.offset));
  ASSIGN_OR_RETURN(const DictReader::Entries globals_entries, dicts_.ReadDict(globals));
  return dicts_.FindStrKey(globals_entries, "_active");
}

absl::StatusOr<std::string> ThreadNameReader::ReadThreadName(RemoteAddress thread_object) {
  if (layout_.objects.thread_name_attribute == nullptr) {
    return absl::UnimplementedError("no thread name attribute for this version");
  }
  ASSIGN_OR_RETURN(const RemoteAddress name,
                   InstanceAttribute(thread_object, layout_.objects.thread_name_attribute));
  // Thread.name's setter stores str(name): anything else is not the name.
  ASSIGN_OR_RETURN(const RemoteAddress type, ReadValue<uint64_t>(memory_, name + type_offset_));
  if (dicts_.str_type() == 0 || type != dicts_.str_type())
    return absl::DataLossError("thread name is not a str");
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
  DictReader::Entries entries;
  switch (layout_.instance_dicts) {
    case InstanceDictModel::kDictOffset: {
      ASSIGN_OR_RETURN(const int64_t offset,
                       ReadValue<int64_t>(memory_, type + o.type_dictoffset.offset));
      // Negative offsets count from the end of variable-size objects; Thread is not one.
      if (offset <= 0 || offset > kMaxInstanceOffset) return absl::NotFoundError("no __dict__");
      ASSIGN_OR_RETURN(const RemoteAddress dict, ReadValue<uint64_t>(memory_, object + offset));
      ASSIGN_OR_RETURN(entries, dicts_.ReadDict(dict));
      break;
    }
    case InstanceDictModel::kManagedDict311: {
      uint64_t pointers[2];  // values at obj-32, dict at obj-24
      RETURN_IF_ERROR(memory_.Read(object + kManagedValuesOffset311, pointers, sizeof pointers));
      if (pointers[1] != 0) {
        ASSIGN_OR_RETURN(entries, dicts_.ReadDict(pointers[1]));
      } else {
        ASSIGN_OR_RETURN(entries, dicts_.ReadSplitInstance(type, pointers[0]));
      }
      break;
    }
    case InstanceDictModel::kManagedDict312: {
      // PyDictOrValues: the values pointer minus one (low bit set), or the dict.
      ASSIGN_OR_RETURN(const uint64_t word,
                       ReadValue<uint64_t>(memory_, object + kManagedDictOffset));
      if (word & 1) {
        ASSIGN_OR_RETURN(entries, dicts_.ReadSplitInstance(type, word + 1));
      } else {
        ASSIGN_OR_RETURN(entries, dicts_.ReadDict(word));
      }
      break;
    }
    case InstanceDictModel::kInlineValues313: {
      // Once __dict__ is made, the dict pointer is set and the dict is the truth.
      ASSIGN_OR_RETURN(const RemoteAddress dict,
                       ReadValue<uint64_t>(memory_, object + kManagedDictOffset));
      if (dict != 0) {
        ASSIGN_OR_RETURN(entries, dicts_.ReadDict(dict));
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
      ASSIGN_OR_RETURN(entries, dicts_.ReadSplitInstance(type, values));
      break;
    }
  }
  return dicts_.FindStrKey(entries, name);
}

}  // namespace gilscope
