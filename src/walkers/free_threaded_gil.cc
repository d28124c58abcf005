#include "gilscope/walkers/free_threaded_gil.h"

#include <algorithm>
#include <climits>
#include <string>

#include "gilscope/base/status_macros.h"
#include "gilscope/walkers/dict_reader.h"
#include "gilscope/walkers/python_strings.h"

namespace gilscope {
namespace {

// _PyConfigGILEnum (Include/internal/pycore_initconfig.h).
constexpr int32_t kConfigGilDefault = -1;
constexpr int32_t kConfigGilDisable = 0;
constexpr int32_t kConfigGilEnable = 1;
// _gil_runtime_state.enabled once _PyEval_EnableGILPermanent ran (Python/ceval_gil.c).
constexpr int32_t kGilEnabledPermanently = INT_MAX;
// Module names are dotted identifiers: longer text is not one.
constexpr size_t kMaxModuleNameBytes = 256;
// More interpreters than this in one list: a cycle or garbage.
constexpr int kMaxInterpreters = 1024;

// Whether the module object at `module` came from a PyModuleDef that did not declare
// Py_mod_gil = Py_MOD_GIL_NOT_USED, so its import turned the GIL on.
absl::StatusOr<bool> NeedsGil(RemoteMemory& memory, const PythonLayout& layout,
                              RemoteAddress module) {
  const PythonLayout::Objects& o = layout.objects;
  uint8_t bytes[256];
  const size_t size = BytesToCover({o.module_def, o.module_gil});
  if (size > sizeof bytes) return absl::InternalError("module layout larger than expected");
  RETURN_IF_ERROR(memory.Read(module, bytes, size));
  switch (o.module_gil_model) {
    case ModuleGilModel::kGilSlot314:
      return LoadAt<uint64_t>(bytes, o.module_def.offset) != 0 &&
             LoadAt<uint64_t>(bytes, o.module_gil.offset) == 0;  // Py_MOD_GIL_USED
    case ModuleGilModel::kRequiresGil315:
      return bytes[o.module_def.offset] != 0 && bytes[o.module_gil.offset] != 0;
    case ModuleGilModel::kNone:
      break;
  }
  return absl::FailedPreconditionError("no module GIL flag in this layout");
}

// The names of sys.modules' entries whose module needs the GIL, in import order.
std::vector<std::string> ModulesNeedingGil(RemoteMemory& memory, const PythonLayout& layout,
                                           RemoteAddress interpreter) {
  std::vector<std::string> names;
  absl::StatusOr<uint64_t> modules =
      ReadValue<uint64_t>(memory, interpreter + layout.objects.interp_modules.offset);
  if (!modules.ok() || *modules < kLowestValidAddress) return names;
  const size_t type_offset = static_cast<size_t>(ObjectTypeOffset(layout));
  DictReader dicts(memory, layout);
  absl::StatusOr<DictReader::Header> header = dicts.ReadHeader(*modules);
  if (!header.ok()) return names;
  // interp->modules is a dict by construction (Python/import.c); sys is a plain module.
  dicts.set_dict_type(LoadAt<uint64_t>(header->bytes, type_offset));
  absl::StatusOr<DictReader::Entries> entries = dicts.ReadEntries(*modules, *header);
  if (!entries.ok()) return names;
  absl::StatusOr<RemoteAddress> sys = dicts.FindStrKey(*entries, "sys");
  if (!sys.ok()) return names;
  absl::StatusOr<uint64_t> module_type = ReadValue<uint64_t>(memory, *sys + type_offset);
  if (!module_type.ok() || *module_type < kLowestValidAddress) return names;
  const RemoteAddress str_type = dicts.str_type();

  const size_t walked = std::min(entries->items.size(), kMaxModulesWalked);
  for (size_t i = 0; i < walked && names.size() < kMaxGilModulesNamed; ++i) {
    const DictReader::Entry& entry = entries->items[i];
    if (entry.key < kLowestValidAddress || entry.value < kLowestValidAddress) continue;
    absl::StatusOr<uint64_t> type = ReadValue<uint64_t>(memory, entry.value + type_offset);
    if (!type.ok() || *type != *module_type) continue;  // a module subclass, or a stand-in
    absl::StatusOr<bool> needs = NeedsGil(memory, layout, entry.value);
    if (!needs.ok() || !*needs) continue;
    absl::StatusOr<uint64_t> key_type = ReadValue<uint64_t>(memory, entry.key + type_offset);
    if (!key_type.ok() || *key_type != str_type) continue;
    absl::StatusOr<std::string> name = ReadPythonText(memory, layout, entry.key);
    if (!name.ok() || name->empty() || name->size() > kMaxModuleNameBytes) continue;
    names.push_back(*std::move(name));
  }
  return names;
}

}  // namespace

absl::StatusOr<FreeThreadedGil> ReadFreeThreadedGil(RemoteMemory& memory,
                                                    const PythonLayout& layout,
                                                    RemoteAddress interpreter) {
  if (!layout.free_threaded || !layout.interpreter.config_enable_gil.present() ||
      !layout.gil.enabled.present() || !layout.interpreter.ceval_gil.present()) {
    return absl::FailedPreconditionError("not a free-threaded layout");
  }
  if (interpreter < kLowestValidAddress) return absl::DataLossError("null interpreter");
  ASSIGN_OR_RETURN(
      const int32_t config,
      ReadValue<int32_t>(memory, interpreter + layout.interpreter.config_enable_gil.offset));
  ASSIGN_OR_RETURN(const uint64_t gil,
                   ReadValue<uint64_t>(memory, interpreter + layout.interpreter.ceval_gil.offset));
  if (gil < kLowestValidAddress) return absl::DataLossError("no GIL structure");
  ASSIGN_OR_RETURN(const int32_t enabled,
                   ReadValue<int32_t>(memory, gil + layout.gil.enabled.offset));
  FreeThreadedGil result;
  if (config == kConfigGilEnable) {
    result.state = FreeThreadedGil::State::kAskedFor;
  } else if (config == kConfigGilDisable || (config == kConfigGilDefault && enabled == 0)) {
    result.state = FreeThreadedGil::State::kOff;
  } else if (config == kConfigGilDefault && enabled == kGilEnabledPermanently) {
    result.state = FreeThreadedGil::State::kEnabledByModule;
    result.modules = ModulesNeedingGil(memory, layout, interpreter);
  } else if (config == kConfigGilDefault && enabled > 0) {
    result.state = FreeThreadedGil::State::kImporting;
  } else {
    return absl::DataLossError("enable_gil or the GIL's enabled count is out of range");
  }
  return result;
}

FreeThreadedGil ReadMainFreeThreadedGil(RemoteMemory& memory, const PythonLayout& layout,
                                        RemoteAddress interpreters_head) {
  if (!layout.free_threaded || interpreters_head < kLowestValidAddress) return {};
  absl::StatusOr<uint64_t> interpreter = ReadValue<uint64_t>(memory, interpreters_head);
  if (!interpreter.ok() || *interpreter < kLowestValidAddress) return {};
  RemoteAddress main = *interpreter;
  for (int i = 0; i < kMaxInterpreters; ++i) {  // newest first: the main one is last
    absl::StatusOr<uint64_t> next =
        ReadValue<uint64_t>(memory, main + layout.interpreter.next.offset);
    if (!next.ok()) return {};
    if (*next < kLowestValidAddress) break;
    main = *next;
    if (i + 1 == kMaxInterpreters) return {};
  }
  absl::StatusOr<FreeThreadedGil> gil = ReadFreeThreadedGil(memory, layout, main);
  return gil.ok() ? *std::move(gil) : FreeThreadedGil{};
}

}  // namespace gilscope
