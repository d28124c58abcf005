// Prints every offset and size in gilscope's CPython layout tables, one per line, for
// tests/integration/layout_test.py to check against the debug info of real interpreters, and
// the other per-version facts it checks against the interpreters themselves:
//
//   <major.minor> <tested_on> field <Type::member.path> <offset>
//   <major.minor> <tested_on> sizeof <C type> <size>
//   <major.minor> <tested_on> bit <Type::member.path> <bit>   (a bit field's first bit, counted
//                                                            from its parent member's start)
//   <major.minor> <tested_on> frame_owner_c_stack <value>
//   <major.minor> <tested_on> eval_function <symbol>
//   <major.minor> <tested_on> call_opcodes <opcode> <opcode> ...
//   <major.minor> <tested_on> eval_breaker_opcodes <opcode> ...
//   * * call_plumbing <symbol>        (IsCallPlumbing's names, any version)
//   * * gil_acquire <symbol>          (IsGilAcquireFunction's names, any version)
#include <cstdio>
#include <string>

#include "absl/strings/string_view.h"
#include "gilscope/layout/python_layout.h"

namespace {

void PrintSize(const std::string& version, const char* tested_on, const char* c_type,
               int32_t size) {
  std::printf("%s %s sizeof %s %d\n", version.c_str(), tested_on, c_type, size);
}

}  // namespace

int main() {
  for (const gilscope::PythonLayout* layout : gilscope::AllLayouts()) {
    const std::string version = std::to_string(layout->major) + "." +
                                std::to_string(layout->minor) + (layout->free_threaded ? "t" : "");
    for (const gilscope::Field& field : gilscope::AllFields(*layout)) {
      std::printf("%s %s field %s %d\n", version.c_str(), layout->tested_on, field.c_name,
                  field.offset);
    }
    if (layout->major >= 3) {
      PrintSize(version, layout->tested_on, "PyASCIIObject", layout->strings.ascii_data);
      PrintSize(version, layout->tested_on, "PyCompactUnicodeObject", layout->strings.compact_data);
    }
    if (layout->thread.status.present() && layout->thread.status_active_bit >= 0) {
      std::printf("%s %s bit PyThreadState::_status.active %d\n", version.c_str(),
                  layout->tested_on, layout->thread.status_active_bit);
    }
    if (layout->string_model == gilscope::StringModel::kUnicode) {
      std::printf("%s %s bit PyASCIIObject::state.kind %d\n", version.c_str(), layout->tested_on,
                  layout->strings.state_kind_bit);
    }
    if (layout->interpreter_frame.owner_c_stack >= 0) {
      std::printf("%s %s frame_owner_c_stack %d\n", version.c_str(), layout->tested_on,
                  layout->interpreter_frame.owner_c_stack);
    }
    if (layout->gil.size > 0) {
      PrintSize(version, layout->tested_on, "struct _gil_runtime_state", layout->gil.size);
    }
    std::printf("%s %s eval_function %s\n", version.c_str(), layout->tested_on,
                layout->eval_function != nullptr ? layout->eval_function : "(none)");
    std::printf("%s %s call_opcodes", version.c_str(), layout->tested_on);
    for (int opcode = 0; opcode < 256; ++opcode) {
      if (layout->CallsNative(opcode)) std::printf(" %d", opcode);
    }
    std::printf("\n");
    std::printf("%s %s eval_breaker_opcodes", version.c_str(), layout->tested_on);
    for (int opcode = 0; opcode < 256; ++opcode) {
      if (layout->AtEvalBreaker(opcode)) std::printf(" %d", opcode);
    }
    std::printf("\n");
  }
  for (absl::string_view name : gilscope::CallPlumbingFunctions()) {
    std::printf("* * call_plumbing %.*s\n", static_cast<int>(name.size()), name.data());
  }
  for (absl::string_view name : gilscope::GilAcquireFunctions()) {
    std::printf("* * gil_acquire %.*s\n", static_cast<int>(name.size()), name.data());
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}
