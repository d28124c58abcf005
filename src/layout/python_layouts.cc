// Offsets for CPython on x86_64 Linux, one table per minor version. Each was checked against
// the debug info of the release named in `tested_on` by tests/integration/layout_test.py.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gilscope/layout/python_layout.h"

namespace gilscope {
namespace {

// struct _gil_runtime_state has not changed from 3.7 to 3.13 (Python/condvar.h, ceval_gil.h).
constexpr PythonLayout::Gil kGil37 = {
    .last_holder = {8, "struct _gil_runtime_state::last_holder"},
    .locked = {16, "struct _gil_runtime_state::locked"},
    .switch_number = {24, "struct _gil_runtime_state::switch_number"},
    .cond = {32, "struct _gil_runtime_state::cond"},
    .mutex = {80, "struct _gil_runtime_state::mutex"},
    .switch_cond = {120, "struct _gil_runtime_state::switch_cond"},
    .switch_mutex = {168, "struct _gil_runtime_state::switch_mutex"},
    .size = 208,
};

constexpr PythonLayout::Strings kStrings36 = {
    .bytes_size = {16, "PyBytesObject::ob_base.ob_size"},
    .bytes_data = {32, "PyBytesObject::ob_sval"},
    .unicode_length = {16, "PyASCIIObject::length"},
    .unicode_state = {32, "PyASCIIObject::state"},
    .ascii_data = 48,
    .compact_data = 72,
};

// 3.12 dropped PyASCIIObject.wstr and PyCompactUnicodeObject.wstr_length.
constexpr PythonLayout::Strings kStrings312 = {
    .bytes_size = {16, "PyBytesObject::ob_base.ob_size"},
    .bytes_data = {32, "PyBytesObject::ob_sval"},
    .unicode_length = {16, "PyASCIIObject::length"},
    .unicode_state = {32, "PyASCIIObject::state"},
    .ascii_data = 40,
    .compact_data = 56,
};

// Dicts: 2.7's open table (Include/dictobject.h).
constexpr PythonLayout::Dict kDict27 = {
    .used = {24, "PyDictObject::ma_used"},
    .table = {40, "PyDictObject::ma_table"},
    .mask = {32, "PyDictObject::ma_mask"},
    .entry_hash = {0, "PyDictEntry::me_hash"},
    .entry_key = {8, "PyDictEntry::me_key"},
    .entry_value = {16, "PyDictEntry::me_value"},
};

// 3.6-3.10 compact dicts (Objects/dict-common.h): unchanged across these versions.
constexpr PythonLayout::Dict kDict36 = {
    .used = {16, "PyDictObject::ma_used"},
    .keys = {32, "PyDictObject::ma_keys"},
    .values = {40, "PyDictObject::ma_values"},
    .keys_size = {8, "PyDictKeysObject::dk_size"},
    .keys_nentries = {32, "PyDictKeysObject::dk_nentries"},
    .keys_indices = {40, "PyDictKeysObject::dk_indices"},
    .entry_hash = {0, "PyDictKeyEntry::me_hash"},
    .entry_key = {8, "PyDictKeyEntry::me_key"},
    .entry_value = {16, "PyDictKeyEntry::me_value"},
};

// 3.11 and 3.12 (Include/internal/pycore_dict.h).
constexpr PythonLayout::Dict kDict311 = {
    .used = {16, "PyDictObject::ma_used"},
    .keys = {32, "PyDictObject::ma_keys"},
    .values = {40, "PyDictObject::ma_values"},
    .keys_log2_size = {8, "PyDictKeysObject::dk_log2_size"},
    .keys_log2_index_bytes = {9, "PyDictKeysObject::dk_log2_index_bytes"},
    .keys_kind = {10, "PyDictKeysObject::dk_kind"},
    .keys_nentries = {24, "PyDictKeysObject::dk_nentries"},
    .keys_indices = {32, "PyDictKeysObject::dk_indices"},
    .entry_hash = {0, "PyDictKeyEntry::me_hash"},
    .entry_key = {8, "PyDictKeyEntry::me_key"},
    .entry_value = {16, "PyDictKeyEntry::me_value"},
    .unicode_entry_key = {0, "PyDictUnicodeEntry::me_key"},
    .unicode_entry_value = {8, "PyDictUnicodeEntry::me_value"},
    .values_array = {0, "PyDictValues::values"},
};

// 3.13: PyDictValues gained a header (capacity, size, embedded, valid) before the values.
constexpr PythonLayout::Dict kDict313 = {
    .used = {16, "PyDictObject::ma_used"},
    .keys = {32, "PyDictObject::ma_keys"},
    .values = {40, "PyDictObject::ma_values"},
    .keys_log2_size = {8, "PyDictKeysObject::dk_log2_size"},
    .keys_log2_index_bytes = {9, "PyDictKeysObject::dk_log2_index_bytes"},
    .keys_kind = {10, "PyDictKeysObject::dk_kind"},
    .keys_nentries = {24, "PyDictKeysObject::dk_nentries"},
    .keys_indices = {32, "PyDictKeysObject::dk_indices"},
    .entry_hash = {0, "PyDictKeyEntry::me_hash"},
    .entry_key = {8, "PyDictKeyEntry::me_key"},
    .entry_value = {16, "PyDictKeyEntry::me_value"},
    .unicode_entry_key = {0, "PyDictUnicodeEntry::me_key"},
    .unicode_entry_value = {8, "PyDictUnicodeEntry::me_value"},
    .values_array = {8, "PyDictValues::values"},
    .values_capacity = {0, "PyDictValues::capacity"},
    .values_valid = {3, "PyDictValues::valid"},
};

// PyTypeObject has kept these offsets since 2.7 (Include/cpython/object.h).
constexpr Field kTypeBasicsize = {32, "PyTypeObject::tp_basicsize"};
constexpr Field kTypeFlags = {168, "PyTypeObject::tp_flags"};
constexpr Field kTypeDictoffset = {288, "PyTypeObject::tp_dictoffset"};
constexpr Field kModuleDict = {16, "PyModuleObject::md_dict"};

// Opcodes at which the loop only checks its eval breaker (PythonLayout::eval_breaker_opcodes).
// 2.7-3.10: JUMP_ABSOLUTE jumps, then the loop's top runs the periodic check (2.7's ticker, the
// eval breaker) before f_lasti moves on (Python/ceval.c of each version).
constexpr OpcodeSet kEvalBreakerOpcodes27 = {
    113,  // JUMP_ABSOLUTE
};
// 3.14+: JUMP_BACKWARD (and its _JIT/_NO_JIT forms) and RESUME run _CHECK_PERIODIC, with the
// frame's instr_ptr at them; RESUME_CHECK deoptimizes to RESUME when the breaker is set
// (Python/bytecodes.c). Free-threaded builds number opcodes the same.
constexpr OpcodeSet kEvalBreakerOpcodes314 = {
    75,   // JUMP_BACKWARD
    128,  // RESUME
    175,  // JUMP_BACKWARD_JIT
    176,  // JUMP_BACKWARD_NO_JIT
    196,  // RESUME_CHECK
    245,  // INSTRUMENTED_RESUME
    253,  // INSTRUMENTED_JUMP_BACKWARD
};
constexpr OpcodeSet kEvalBreakerOpcodes315 = {
    74,   // JUMP_BACKWARD
    128,  // RESUME
    181,  // JUMP_BACKWARD_JIT
    182,  // JUMP_BACKWARD_NO_JIT
    200,  // RESUME_CHECK
    201,  // RESUME_CHECK_JIT
    244,  // INSTRUMENTED_RESUME
    252,  // INSTRUMENTED_JUMP_BACKWARD
};
constexpr OpcodeSet kEvalBreakerOpcodes311 = {
    38,   // JUMP_BACKWARD_QUICK
    140,  // JUMP_BACKWARD
    150,  // RESUME_QUICK
    151,  // RESUME
};
constexpr OpcodeSet kEvalBreakerOpcodes312 = {
    140,  // JUMP_BACKWARD
    151,  // RESUME
    240,  // INSTRUMENTED_RESUME
    246,  // INSTRUMENTED_JUMP_BACKWARD
};
constexpr OpcodeSet kEvalBreakerOpcodes313 = {
    77,   // JUMP_BACKWARD
    149,  // RESUME
    207,  // RESUME_CHECK
    236,  // INSTRUMENTED_RESUME
    249,  // INSTRUMENTED_JUMP_BACKWARD
};

// Opcodes during which the frame is in a call that may run C (PythonLayout::native_call_opcodes).
// Numbers from each version's opcode.opmap (+ dis._all_opmap in 3.11/3.12,
// opcode._specialized_opmap in 3.13); layout_test.py recomputes every set from them.
constexpr OpcodeSet kCallOpcodes27 = {
    131,  // CALL_FUNCTION
    140,  // CALL_FUNCTION_VAR
    141,  // CALL_FUNCTION_KW
    142,  // CALL_FUNCTION_VAR_KW
};

constexpr OpcodeSet kCallOpcodes36 = {
    131,  // CALL_FUNCTION
    141,  // CALL_FUNCTION_KW
    142,  // CALL_FUNCTION_EX
};

// 3.7 added CALL_METHOD; 3.8-3.10 call with the same four.
constexpr OpcodeSet kCallOpcodes37 = {
    131,  // CALL_FUNCTION
    141,  // CALL_FUNCTION_KW
    142,  // CALL_FUNCTION_EX
    161,  // CALL_METHOD
};

// 3.11: PRECALL prepares and CALL calls, but the PRECALL specializations for builtins, method
// descriptors and classes make the call themselves and skip the CALL (Python/ceval.c), so a
// frame in such a C call is still at its PRECALL_*. Not here: PRECALL, PRECALL_ADAPTIVE,
// PRECALL_BOUND_METHOD, PRECALL_PYFUNC (they only prepare), CALL_PY_EXACT_ARGS and
// CALL_PY_WITH_DEFAULTS (they push a Python frame).
constexpr OpcodeSet kCallOpcodes311 = {
    22,   // CALL_ADAPTIVE
    66,   // PRECALL_BUILTIN_CLASS
    67,   // PRECALL_BUILTIN_FAST_WITH_KEYWORDS
    72,   // PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS
    73,   // PRECALL_NO_KW_BUILTIN_FAST
    76,   // PRECALL_NO_KW_BUILTIN_O
    77,   // PRECALL_NO_KW_ISINSTANCE
    78,   // PRECALL_NO_KW_LEN
    79,   // PRECALL_NO_KW_LIST_APPEND
    80,   // PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST
    81,   // PRECALL_NO_KW_METHOD_DESCRIPTOR_NOARGS
    113,  // PRECALL_NO_KW_METHOD_DESCRIPTOR_O
    121,  // PRECALL_NO_KW_STR_1
    127,  // PRECALL_NO_KW_TUPLE_1
    141,  // PRECALL_NO_KW_TYPE_1
    142,  // CALL_FUNCTION_EX
    171,  // CALL
};

// 3.12: not CALL_PY_EXACT_ARGS, CALL_PY_WITH_DEFAULTS, CALL_BOUND_METHOD_EXACT_ARGS (Python
// frames), CALL_INTRINSIC_1/2 (not calls).
constexpr OpcodeSet kCallOpcodes312 = {
    29,   // CALL_BUILTIN_CLASS
    34,   // CALL_BUILTIN_FAST_WITH_KEYWORDS
    38,   // CALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS
    39,   // CALL_NO_KW_BUILTIN_FAST
    40,   // CALL_NO_KW_BUILTIN_O
    41,   // CALL_NO_KW_ISINSTANCE
    42,   // CALL_NO_KW_LEN
    43,   // CALL_NO_KW_LIST_APPEND
    44,   // CALL_NO_KW_METHOD_DESCRIPTOR_FAST
    45,   // CALL_NO_KW_METHOD_DESCRIPTOR_NOARGS
    46,   // CALL_NO_KW_METHOD_DESCRIPTOR_O
    47,   // CALL_NO_KW_STR_1
    48,   // CALL_NO_KW_TUPLE_1
    56,   // CALL_NO_KW_TYPE_1
    142,  // CALL_FUNCTION_EX
    171,  // CALL
    241,  // INSTRUMENTED_CALL
    244,  // INSTRUMENTED_CALL_FUNCTION_EX
};

// 3.13: not CALL_PY_EXACT_ARGS, CALL_PY_GENERAL, CALL_BOUND_METHOD_EXACT_ARGS,
// CALL_BOUND_METHOD_GENERAL, CALL_ALLOC_AND_ENTER_INIT (Python frames), CALL_INTRINSIC_1/2.
constexpr OpcodeSet kCallOpcodes313 = {
    53,   // CALL
    54,   // CALL_FUNCTION_EX
    57,   // CALL_KW
    165,  // CALL_BUILTIN_CLASS
    166,  // CALL_BUILTIN_FAST
    167,  // CALL_BUILTIN_FAST_WITH_KEYWORDS
    168,  // CALL_BUILTIN_O
    169,  // CALL_ISINSTANCE
    170,  // CALL_LEN
    171,  // CALL_LIST_APPEND
    172,  // CALL_METHOD_DESCRIPTOR_FAST
    173,  // CALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS
    174,  // CALL_METHOD_DESCRIPTOR_NOARGS
    175,  // CALL_METHOD_DESCRIPTOR_O
    176,  // CALL_NON_PY_GENERAL
    179,  // CALL_STR_1
    180,  // CALL_TUPLE_1
    181,  // CALL_TYPE_1
    244,  // INSTRUMENTED_CALL
    245,  // INSTRUMENTED_CALL_KW
    246,  // INSTRUMENTED_CALL_FUNCTION_EX
};

// 3.14: also not CALL_KW_PY, CALL_KW_BOUND_METHOD (Python frames).
constexpr OpcodeSet kCallOpcodes314 = {
    4,    // CALL_FUNCTION_EX
    52,   // CALL
    55,   // CALL_KW
    146,  // CALL_BUILTIN_CLASS
    147,  // CALL_BUILTIN_FAST
    148,  // CALL_BUILTIN_FAST_WITH_KEYWORDS
    149,  // CALL_BUILTIN_O
    150,  // CALL_ISINSTANCE
    152,  // CALL_KW_NON_PY
    154,  // CALL_LEN
    155,  // CALL_LIST_APPEND
    156,  // CALL_METHOD_DESCRIPTOR_FAST
    157,  // CALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS
    158,  // CALL_METHOD_DESCRIPTOR_NOARGS
    159,  // CALL_METHOD_DESCRIPTOR_O
    160,  // CALL_NON_PY_GENERAL
    163,  // CALL_STR_1
    164,  // CALL_TUPLE_1
    165,  // CALL_TYPE_1
    250,  // INSTRUMENTED_CALL
    251,  // INSTRUMENTED_CALL_KW
    252,  // INSTRUMENTED_CALL_FUNCTION_EX
};
// 3.15: also not CALL_EX_PY (a Python frame).
constexpr OpcodeSet kCallOpcodes315 = {
    4,    // CALL_FUNCTION_EX
    50,   // CALL
    53,   // CALL_KW
    147,  // CALL_BUILTIN_CLASS
    148,  // CALL_BUILTIN_FAST
    149,  // CALL_BUILTIN_FAST_WITH_KEYWORDS
    150,  // CALL_BUILTIN_O
    151,  // CALL_EX_NON_PY_GENERAL
    153,  // CALL_ISINSTANCE
    155,  // CALL_KW_NON_PY
    157,  // CALL_LEN
    158,  // CALL_LIST_APPEND
    159,  // CALL_METHOD_DESCRIPTOR_FAST
    160,  // CALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS
    161,  // CALL_METHOD_DESCRIPTOR_NOARGS
    162,  // CALL_METHOD_DESCRIPTOR_O
    163,  // CALL_NON_PY_GENERAL
    166,  // CALL_STR_1
    167,  // CALL_TUPLE_1
    168,  // CALL_TYPE_1
    249,  // INSTRUMENTED_CALL
    250,  // INSTRUMENTED_CALL_KW
    251,  // INSTRUMENTED_CALL_FUNCTION_EX
};

// Python/ceval.c: 2.7's loop is PyEval_EvalFrameEx itself; from 3.6 (PEP 523) it is
// _PyEval_EvalFrameDefault, reached through the interpreter's eval_frame hook.
constexpr const char* kEvalFunction27 = "PyEval_EvalFrameEx";
constexpr const char* kEvalFunction36 = "_PyEval_EvalFrameDefault";

constexpr PythonLayout kPython27 = {
    .major = 2,
    .minor = 7,
    .min_micro = 0,
    .tested_on = "2.7.18",
    .gil_model = GilModel::kSemaphore27,
    .frame_model = FrameModel::kFrameObject,
    .line_table = LineTableFormat::kLnotabUnsigned,
    .string_model = StringModel::kPyString27,
    .thread_ids = ThreadIdModel::kPthreadStruct,
    .dict_model = DictModel::kOpenTable27,
    .instance_dicts = InstanceDictModel::kDictOffset,
    .runtime = {},
    .interpreter = {.next = {0, "PyInterpreterState::next"},
                    .threads_head = {8, "PyInterpreterState::tstate_head"}},
    .gil = {},
    .thread = {.next = {0, "PyThreadState::next"},
               .interp = {8, "PyThreadState::interp"},
               .frame = {16, "PyThreadState::frame"},
               .thread_id = {144, "PyThreadState::thread_id"}},
    .frame_object = {.back = {24, "PyFrameObject::f_back"},
                     .code = {32, "PyFrameObject::f_code"},
                     .lasti = {120, "PyFrameObject::f_lasti"},
                     .lasti_unit = 1},
    .interpreter_frame = {},
    .code = {.firstlineno = {96, "PyCodeObject::co_firstlineno"},
             .filename = {80, "PyCodeObject::co_filename"},
             .name = {88, "PyCodeObject::co_name"},
             .code = {32, "PyCodeObject::co_code"},
             .line_table = {104, "PyCodeObject::co_lnotab"}},
    .objects = {.interp_modules = {16, "PyInterpreterState::modules"},
                .module_dict = kModuleDict,
                .type_dictoffset = kTypeDictoffset,
                .thread_name_attribute = "_Thread__name"},  // 2.7's self.__name
    .dict = kDict27,
    .strings = {.bytes_size = {16, "PyStringObject::ob_size"},
                .bytes_data = {36, "PyStringObject::ob_sval"}},
    .eval_function = kEvalFunction27,
    .native_call_opcodes = kCallOpcodes27,
    .eval_breaker_opcodes = kEvalBreakerOpcodes27,
    .eval_breaker_after_most_opcodes = true,
};

constexpr PythonLayout kPython36 = {
    .major = 3,
    .minor = 6,
    .min_micro = 0,
    .tested_on = "3.6.15",
    .gil_model = GilModel::kStatics36,
    .frame_model = FrameModel::kFrameObject,
    .line_table = LineTableFormat::kLnotabSigned,
    .string_model = StringModel::kUnicode,
    .thread_ids = ThreadIdModel::kPthreadStruct,
    .dict_model = DictModel::kCompact36,
    .instance_dicts = InstanceDictModel::kDictOffset,
    .runtime = {},
    .interpreter = {.next = {0, "PyInterpreterState::next"},
                    .threads_head = {8, "PyInterpreterState::tstate_head"}},
    .gil = {},
    .thread = {.next = {8, "PyThreadState::next"},
               .interp = {16, "PyThreadState::interp"},
               .frame = {24, "PyThreadState::frame"},
               .thread_id = {152, "PyThreadState::thread_id"}},
    .frame_object = {.back = {24, "PyFrameObject::f_back"},
                     .code = {32, "PyFrameObject::f_code"},
                     .lasti = {120, "PyFrameObject::f_lasti"},
                     .lasti_unit = 1},
    .interpreter_frame = {},
    .code = {.firstlineno = {36, "PyCodeObject::co_firstlineno"},
             .filename = {96, "PyCodeObject::co_filename"},
             .name = {104, "PyCodeObject::co_name"},
             .code = {40, "PyCodeObject::co_code"},
             .line_table = {112, "PyCodeObject::co_lnotab"}},
    .objects = {.interp_modules = {16, "PyInterpreterState::modules"},
                .module_dict = kModuleDict,
                .type_dictoffset = kTypeDictoffset,
                .thread_name_attribute = "_name"},
    .dict = kDict36,
    .strings = kStrings36,
    .eval_function = kEvalFunction36,
    .native_call_opcodes = kCallOpcodes36,
    .eval_breaker_opcodes = kEvalBreakerOpcodes27,
    .eval_breaker_after_most_opcodes = true,
};

// 3.7.0-3.7.3 laid _PyRuntime out differently (bpo-36710 era changes); 3.7.4+ only.
constexpr PythonLayout kPython37 = {
    .major = 3,
    .minor = 7,
    .min_micro = 4,
    .tested_on = "3.7.16",
    .gil_model = GilModel::kInRuntime,
    .frame_model = FrameModel::kFrameObject,
    .line_table = LineTableFormat::kLnotabSigned,
    .string_model = StringModel::kUnicode,
    .thread_ids = ThreadIdModel::kPthreadStruct,
    .dict_model = DictModel::kCompact36,
    .instance_dicts = InstanceDictModel::kDictOffset,
    .runtime = {.interpreters_head = {24, "_PyRuntimeState::interpreters.head"},
                .ceval_gil = {1264, "_PyRuntimeState::ceval.gil"},
                .tstate_current = {1480, "_PyRuntimeState::gilstate.tstate_current"}},
    .interpreter = {.next = {0, "PyInterpreterState::next"},
                    .threads_head = {8, "PyInterpreterState::tstate_head"},
                    .id = {16, "PyInterpreterState::id"}},
    .gil = kGil37,
    .thread = {.next = {8, "PyThreadState::next"},
               .interp = {16, "PyThreadState::interp"},
               .frame = {24, "PyThreadState::frame"},
               .thread_id = {176, "PyThreadState::thread_id"}},
    .frame_object = {.back = {24, "PyFrameObject::f_back"},
                     .code = {32, "PyFrameObject::f_code"},
                     .lasti = {104, "PyFrameObject::f_lasti"},
                     .lasti_unit = 1},
    .interpreter_frame = {},
    .code = {.firstlineno = {36, "PyCodeObject::co_firstlineno"},
             .filename = {96, "PyCodeObject::co_filename"},
             .name = {104, "PyCodeObject::co_name"},
             .code = {40, "PyCodeObject::co_code"},
             .line_table = {112, "PyCodeObject::co_lnotab"}},
    .objects = {.interp_modules = {40, "PyInterpreterState::modules"},
                .module_dict = kModuleDict,
                .type_dictoffset = kTypeDictoffset,
                .thread_name_attribute = "_name"},
    .dict = kDict36,
    .strings = kStrings36,
    .eval_function = kEvalFunction36,
    .native_call_opcodes = kCallOpcodes37,
    .eval_breaker_opcodes = kEvalBreakerOpcodes27,
    .eval_breaker_after_most_opcodes = true,
};

constexpr PythonLayout kPython38 = {
    .major = 3,
    .minor = 8,
    .min_micro = 0,
    .tested_on = "3.8.18",
    .gil_model = GilModel::kInRuntime,
    .frame_model = FrameModel::kFrameObject,
    .line_table = LineTableFormat::kLnotabSigned,
    .string_model = StringModel::kUnicode,
    .thread_ids = ThreadIdModel::kPthreadStruct,
    .dict_model = DictModel::kCompact36,
    .instance_dicts = InstanceDictModel::kDictOffset,
    .runtime = {.interpreters_head = {32, "_PyRuntimeState::interpreters.head"},
                .ceval_gil = {1152, "_PyRuntimeState::ceval.gil"},
                .tstate_current = {1368, "_PyRuntimeState::gilstate.tstate_current"}},
    .interpreter = {.next = {0, "PyInterpreterState::next"},
                    .threads_head = {8, "PyInterpreterState::tstate_head"},
                    .id = {16, "PyInterpreterState::id"}},
    .gil = kGil37,
    .thread = {.next = {8, "PyThreadState::next"},
               .interp = {16, "PyThreadState::interp"},
               .frame = {24, "PyThreadState::frame"},
               .thread_id = {176, "PyThreadState::thread_id"}},
    .frame_object = {.back = {24, "PyFrameObject::f_back"},
                     .code = {32, "PyFrameObject::f_code"},
                     .lasti = {104, "PyFrameObject::f_lasti"},
                     .lasti_unit = 1},
    .interpreter_frame = {},
    .code = {.firstlineno = {40, "PyCodeObject::co_firstlineno"},
             .filename = {104, "PyCodeObject::co_filename"},
             .name = {112, "PyCodeObject::co_name"},
             .code = {48, "PyCodeObject::co_code"},
             .line_table = {120, "PyCodeObject::co_lnotab"}},
    .objects = {.interp_modules = {56, "PyInterpreterState::modules"},
                .module_dict = kModuleDict,
                .type_dictoffset = kTypeDictoffset,
                .thread_name_attribute = "_name"},
    .dict = kDict36,
    .strings = kStrings36,
    .eval_function = kEvalFunction36,
    .native_call_opcodes = kCallOpcodes37,
    .eval_breaker_opcodes = kEvalBreakerOpcodes27,
    .eval_breaker_after_most_opcodes = true,
};

constexpr PythonLayout kPython39 = {
    .major = 3,
    .minor = 9,
    .min_micro = 0,
    .tested_on = "3.9.18",
    .gil_model = GilModel::kInRuntime,
    .frame_model = FrameModel::kFrameObject,
    .line_table = LineTableFormat::kLnotabSigned,
    .string_model = StringModel::kUnicode,
    .thread_ids = ThreadIdModel::kPthreadStruct,
    .dict_model = DictModel::kCompact36,
    .instance_dicts = InstanceDictModel::kDictOffset,
    .runtime = {.interpreters_head = {32, "_PyRuntimeState::interpreters.head"},
                .ceval_gil = {352, "_PyRuntimeState::ceval.gil"},
                .tstate_current = {568, "_PyRuntimeState::gilstate.tstate_current"}},
    .interpreter = {.next = {0, "PyInterpreterState::next"},
                    .threads_head = {8, "PyInterpreterState::tstate_head"},
                    .id = {24, "PyInterpreterState::id"}},
    .gil = kGil37,
    .thread = {.next = {8, "PyThreadState::next"},
               .interp = {16, "PyThreadState::interp"},
               .frame = {24, "PyThreadState::frame"},
               .thread_id = {176, "PyThreadState::thread_id"}},
    .frame_object = {.back = {24, "PyFrameObject::f_back"},
                     .code = {32, "PyFrameObject::f_code"},
                     .lasti = {104, "PyFrameObject::f_lasti"},
                     .lasti_unit = 1},
    .interpreter_frame = {},
    .code = {.firstlineno = {40, "PyCodeObject::co_firstlineno"},
             .filename = {104, "PyCodeObject::co_filename"},
             .name = {112, "PyCodeObject::co_name"},
             .code = {48, "PyCodeObject::co_code"},
             .line_table = {120, "PyCodeObject::co_lnotab"}},
    .objects = {.interp_modules = {856, "PyInterpreterState::modules"},
                .module_dict = kModuleDict,
                .type_dictoffset = kTypeDictoffset,
                .thread_name_attribute = "_name"},
    .dict = kDict36,
    .strings = kStrings36,
    .eval_function = kEvalFunction36,
    .native_call_opcodes = kCallOpcodes37,
    .eval_breaker_opcodes = kEvalBreakerOpcodes27,
    .eval_breaker_after_most_opcodes = true,
};

constexpr PythonLayout kPython310 = {
    .major = 3,
    .minor = 10,
    .min_micro = 0,
    .tested_on = "3.10.13",
    .gil_model = GilModel::kInRuntime,
    .frame_model = FrameModel::kFrameObject,
    .line_table = LineTableFormat::kLinetable310,
    .string_model = StringModel::kUnicode,
    .thread_ids = ThreadIdModel::kPthreadStruct,
    .dict_model = DictModel::kCompact36,
    .instance_dicts = InstanceDictModel::kDictOffset,
    .runtime = {.interpreters_head = {32, "_PyRuntimeState::interpreters.head"},
                .ceval_gil = {352, "_PyRuntimeState::ceval.gil"},
                .tstate_current = {568, "_PyRuntimeState::gilstate.tstate_current"}},
    .interpreter = {.next = {0, "PyInterpreterState::next"},
                    .threads_head = {8, "PyInterpreterState::tstate_head"},
                    .id = {24, "PyInterpreterState::id"}},
    .gil = kGil37,
    .thread = {.next = {8, "PyThreadState::next"},
               .interp = {16, "PyThreadState::interp"},
               .frame = {24, "PyThreadState::frame"},
               .thread_id = {176, "PyThreadState::thread_id"}},
    .frame_object = {.back = {24, "PyFrameObject::f_back"},
                     .code = {32, "PyFrameObject::f_code"},
                     .lasti = {96, "PyFrameObject::f_lasti"},
                     .lasti_unit = 2},
    .interpreter_frame = {},
    .code = {.firstlineno = {40, "PyCodeObject::co_firstlineno"},
             .filename = {104, "PyCodeObject::co_filename"},
             .name = {112, "PyCodeObject::co_name"},
             .code = {48, "PyCodeObject::co_code"},
             .line_table = {120, "PyCodeObject::co_linetable"}},
    .objects = {.interp_modules = {856, "PyInterpreterState::modules"},
                .module_dict = kModuleDict,
                .type_dictoffset = kTypeDictoffset,
                .thread_name_attribute = "_name"},
    .dict = kDict36,
    .strings = kStrings36,
    .eval_function = kEvalFunction36,
    .native_call_opcodes = kCallOpcodes37,
    .eval_breaker_opcodes = kEvalBreakerOpcodes27,
};

constexpr PythonLayout kPython311 = {
    .major = 3,
    .minor = 11,
    .min_micro = 0,
    .tested_on = "3.11.7",
    .gil_model = GilModel::kInRuntime,
    .frame_model = FrameModel::kInterpreterFrame,
    .line_table = LineTableFormat::kLocations311,
    .string_model = StringModel::kUnicode,
    .thread_ids = ThreadIdModel::kNativeThreadId,
    .dict_model = DictModel::kCompact311,
    .instance_dicts = InstanceDictModel::kManagedDict311,
    .runtime = {.interpreters_head = {40, "_PyRuntimeState::interpreters.head"},
                .ceval_gil = {360, "_PyRuntimeState::ceval.gil"},
                .tstate_current = {576, "_PyRuntimeState::gilstate.tstate_current"}},
    .interpreter = {.next = {0, "PyInterpreterState::next"},
                    .threads_head = {16, "PyInterpreterState::threads.head"},
                    .id = {48, "PyInterpreterState::id"}},
    .gil = kGil37,
    .thread = {.next = {8, "PyThreadState::next"},
               .interp = {16, "PyThreadState::interp"},
               .cframe = {56, "PyThreadState::cframe"},
               .cframe_current_frame = {8, "_PyCFrame::current_frame"},
               .thread_id = {152, "PyThreadState::thread_id"},
               .native_thread_id = {160, "PyThreadState::native_thread_id"}},
    .frame_object = {},
    .interpreter_frame = {.code = {32, "_PyInterpreterFrame::f_code"},
                          .previous = {48, "_PyInterpreterFrame::previous"},
                          .instr_ptr = {56, "_PyInterpreterFrame::prev_instr"},
                          .owner = {69, "_PyInterpreterFrame::owner"},
                          .is_entry = {68, "_PyInterpreterFrame::is_entry"},
                          .owner_c_stack = -1},
    .code = {.firstlineno = {72, "PyCodeObject::co_firstlineno"},
             .filename = {112, "PyCodeObject::co_filename"},
             .name = {120, "PyCodeObject::co_name"},
             .qualname = {128, "PyCodeObject::co_qualname"},
             .line_table = {136, "PyCodeObject::co_linetable"},
             .code_adaptive = {184, "PyCodeObject::co_code_adaptive"}},
    .objects = {.interp_modules = {888, "PyInterpreterState::modules"},
                .module_dict = kModuleDict,
                .type_basicsize = kTypeBasicsize,
                .type_flags = kTypeFlags,
                .heap_type_cached_keys = {872, "PyHeapTypeObject::ht_cached_keys"},
                .thread_name_attribute = "_name"},
    .dict = kDict311,
    .strings = kStrings36,
    .eval_function = kEvalFunction36,
    .native_call_opcodes = kCallOpcodes311,
    .eval_breaker_opcodes = kEvalBreakerOpcodes311,
};

constexpr PythonLayout kPython312 = {
    .major = 3,
    .minor = 12,
    .min_micro = 0,
    .tested_on = "3.12.1",
    .gil_model = GilModel::kPerInterpreter,
    .frame_model = FrameModel::kInterpreterFrame,
    .line_table = LineTableFormat::kLocations311,
    .string_model = StringModel::kUnicode,
    .thread_ids = ThreadIdModel::kNativeThreadId,
    .dict_model = DictModel::kCompact311,
    .instance_dicts = InstanceDictModel::kManagedDict312,
    .runtime = {.interpreters_head = {40, "_PyRuntimeState::interpreters.head"}},
    .interpreter = {.next = {0, "PyInterpreterState::next"},
                    .threads_head = {72, "PyInterpreterState::threads.head"},
                    .id = {8, "PyInterpreterState::id"},
                    .ceval_gil = {384, "PyInterpreterState::ceval.gil"}},
    .gil = kGil37,
    .thread = {.next = {8, "PyThreadState::next"},
               .interp = {16, "PyThreadState::interp"},
               .cframe = {56, "PyThreadState::cframe"},
               .cframe_current_frame = {0, "_PyCFrame::current_frame"},
               .thread_id = {136, "PyThreadState::thread_id"},
               .native_thread_id = {144, "PyThreadState::native_thread_id"},
               .status = {24, "PyThreadState::_status"},
               .status_active_bit = 4},
    .frame_object = {},
    .interpreter_frame = {.code = {0, "_PyInterpreterFrame::f_code"},
                          .previous = {8, "_PyInterpreterFrame::previous"},
                          .instr_ptr = {56, "_PyInterpreterFrame::prev_instr"},
                          .owner = {70, "_PyInterpreterFrame::owner"},
                          .owner_c_stack = 3},  // FRAME_OWNED_BY_CSTACK
    .code = {.firstlineno = {68, "PyCodeObject::co_firstlineno"},
             .filename = {112, "PyCodeObject::co_filename"},
             .name = {120, "PyCodeObject::co_name"},
             .qualname = {128, "PyCodeObject::co_qualname"},
             .line_table = {136, "PyCodeObject::co_linetable"},
             .code_adaptive = {192, "PyCodeObject::co_code_adaptive"}},
    .objects = {.interp_modules = {944, "PyInterpreterState::imports.modules"},
                .module_dict = kModuleDict,
                .type_basicsize = kTypeBasicsize,
                .type_flags = kTypeFlags,
                .heap_type_cached_keys = {880, "PyHeapTypeObject::ht_cached_keys"},
                .thread_name_attribute = "_name"},
    .dict = kDict311,
    .strings = kStrings312,
    .eval_function = kEvalFunction36,
    .native_call_opcodes = kCallOpcodes312,
    .eval_breaker_opcodes = kEvalBreakerOpcodes312,
};

constexpr PythonLayout kPython313 = {
    .major = 3,
    .minor = 13,
    .min_micro = 0,
    .tested_on = "3.13.0",
    .gil_model = GilModel::kPerInterpreter,
    .frame_model = FrameModel::kInterpreterFrame,
    .line_table = LineTableFormat::kLocations311,
    .string_model = StringModel::kUnicode,
    .thread_ids = ThreadIdModel::kNativeThreadId,
    .dict_model = DictModel::kCompact311,
    .instance_dicts = InstanceDictModel::kInlineValues313,
    .runtime = {.interpreters_head = {632, "_PyRuntimeState::interpreters.head"}},
    .interpreter = {.next = {7264, "PyInterpreterState::next"},
                    .threads_head = {7344, "PyInterpreterState::threads.head"},
                    .id = {7272, "PyInterpreterState::id"},
                    .ceval_gil = {16, "PyInterpreterState::ceval.gil"}},
    .gil = kGil37,
    .thread = {.next = {8, "PyThreadState::next"},
               .interp = {16, "PyThreadState::interp"},
               .current_frame = {72, "PyThreadState::current_frame"},
               .thread_id = {152, "PyThreadState::thread_id"},
               .native_thread_id = {160, "PyThreadState::native_thread_id"},
               .status = {32, "PyThreadState::_status"},
               .status_active_bit = 4},
    .frame_object = {},
    .interpreter_frame = {.code = {0, "_PyInterpreterFrame::f_executable"},
                          .previous = {8, "_PyInterpreterFrame::previous"},
                          .instr_ptr = {56, "_PyInterpreterFrame::instr_ptr"},
                          .owner = {70, "_PyInterpreterFrame::owner"},
                          .owner_c_stack = 3},  // FRAME_OWNED_BY_CSTACK
    .code = {.firstlineno = {68, "PyCodeObject::co_firstlineno"},
             .filename = {112, "PyCodeObject::co_filename"},
             .name = {120, "PyCodeObject::co_name"},
             .qualname = {128, "PyCodeObject::co_qualname"},
             .line_table = {136, "PyCodeObject::co_linetable"},
             .code_adaptive = {200, "PyCodeObject::co_code_adaptive"}},
    .objects = {.interp_modules = {7656, "PyInterpreterState::imports.modules"},
                .module_dict = kModuleDict,
                .type_basicsize = kTypeBasicsize,
                .type_flags = kTypeFlags,
                .heap_type_cached_keys = {880, "PyHeapTypeObject::ht_cached_keys"},
                .thread_name_attribute = "_name"},
    .dict = kDict313,
    .strings = kStrings312,
    .eval_function = kEvalFunction36,
    .native_call_opcodes = kCallOpcodes313,
    .eval_breaker_opcodes = kEvalBreakerOpcodes313,
};

// 3.14+: from 3.13 on the target publishes most of these offsets itself (_Py_DebugOffsets,
// debug_offsets.cc), which override these tables at run time; the tables keep what is not
// published and are checked against each release's debug info like the others.

// Free-threaded builds: `enabled` comes first in the GIL struct (Include/internal/pycore_gil.h).
constexpr PythonLayout::Gil kGil314FreeThreaded = {
    .enabled = {0, "struct _gil_runtime_state::enabled"},
    .last_holder = {16, "struct _gil_runtime_state::last_holder"},
    .locked = {24, "struct _gil_runtime_state::locked"},
    .switch_number = {32, "struct _gil_runtime_state::switch_number"},
    .cond = {40, "struct _gil_runtime_state::cond"},
    .mutex = {88, "struct _gil_runtime_state::mutex"},
    .switch_cond = {128, "struct _gil_runtime_state::switch_cond"},
    .switch_mutex = {176, "struct _gil_runtime_state::switch_mutex"},
    .size = 216,
};

// Free-threaded object header: 32 bytes (ob_tid, flags, mutex, gc bits, local and shared
// reference counts, then ob_type), so every PyObject field moves by 16.
constexpr PythonLayout::Strings kStrings314FreeThreaded = {
    .bytes_size = {32, "PyBytesObject::ob_base.ob_size"},
    .bytes_data = {48, "PyBytesObject::ob_sval"},
    .unicode_length = {32, "PyASCIIObject::length"},
    .unicode_state = {48, "PyASCIIObject::state"},
    .ascii_data = 56,
    .compact_data = 72,
    .state_kind_bit = 8,  // `interned` is a whole byte
};

constexpr PythonLayout::Dict kDict314FreeThreaded = {
    .used = {32, "PyDictObject::ma_used"},
    .keys = {48, "PyDictObject::ma_keys"},
    .values = {56, "PyDictObject::ma_values"},
    .keys_log2_size = {8, "PyDictKeysObject::dk_log2_size"},
    .keys_log2_index_bytes = {9, "PyDictKeysObject::dk_log2_index_bytes"},
    .keys_kind = {10, "PyDictKeysObject::dk_kind"},
    .keys_nentries = {24, "PyDictKeysObject::dk_nentries"},
    .keys_indices = {32, "PyDictKeysObject::dk_indices"},
    .entry_hash = {0, "PyDictKeyEntry::me_hash"},
    .entry_key = {8, "PyDictKeyEntry::me_key"},
    .entry_value = {16, "PyDictKeyEntry::me_value"},
    .unicode_entry_key = {0, "PyDictUnicodeEntry::me_key"},
    .unicode_entry_value = {8, "PyDictUnicodeEntry::me_value"},
    .values_array = {8, "PyDictValues::values"},
    .values_capacity = {0, "PyDictValues::capacity"},
    .values_valid = {3, "PyDictValues::valid"},
};

// What 3.14 and 3.15, default and free-threaded, share.
constexpr PythonLayout kPython314Common = {
    .gil_model = GilModel::kPerInterpreter,
    .frame_model = FrameModel::kInterpreterFrame,
    .line_table = LineTableFormat::kLocations311,
    .string_model = StringModel::kUnicode,
    .thread_ids = ThreadIdModel::kNativeThreadId,
    .dict_model = DictModel::kCompact311,
    .instance_dicts = InstanceDictModel::kInlineValues313,
    .eval_function = kEvalFunction36,
};

constexpr PythonLayout Python314(bool free_threaded) {
  PythonLayout l = kPython314Common;
  l.major = 3;
  l.minor = 14;
  l.tested_on = "3.14.7";
  l.free_threaded = free_threaded;
  const int32_t ft = free_threaded ? 16 : 0;  // the bigger object header
  l.runtime = {.interpreters_head = {808, "_PyRuntimeState::interpreters.head"}};
  l.interpreter = {.next = {7272, "PyInterpreterState::next"},
                   .threads_head = {7344, "PyInterpreterState::threads.head"},
                   .id = {7280, "PyInterpreterState::id"},
                   .ceval_gil = {16, "PyInterpreterState::ceval.gil"}};
  l.gil = free_threaded ? kGil314FreeThreaded : kGil37;
  l.thread = {.next = {8, "PyThreadState::next"},
              .interp = {16, "PyThreadState::interp"},
              .current_frame = {72, "PyThreadState::current_frame"},
              .thread_id = {152, "PyThreadState::thread_id"},
              .native_thread_id = {160, "PyThreadState::native_thread_id"},
              .status = {32, "PyThreadState::_status"},
              .status_active_bit = 4,
              .holds_gil = {36, "PyThreadState::holds_gil"}};
  l.interpreter_frame = {.code = {0, "_PyInterpreterFrame::f_executable"},
                         .previous = {8, "_PyInterpreterFrame::previous"},
                         .instr_ptr = {56, "_PyInterpreterFrame::instr_ptr"},
                         .owner = {free_threaded ? 78 : 74, "_PyInterpreterFrame::owner"},
                         .tlbc_index = {free_threaded ? 72 : -1, "_PyInterpreterFrame::tlbc_index"},
                         .owner_c_stack = 3};  // FRAME_OWNED_BY_INTERPRETER, _CSTACK
  l.code = {.firstlineno = {68 + ft, "PyCodeObject::co_firstlineno"},
            .filename = {112 + ft, "PyCodeObject::co_filename"},
            .name = {120 + ft, "PyCodeObject::co_name"},
            .qualname = {128 + ft, "PyCodeObject::co_qualname"},
            .line_table = {136 + ft, "PyCodeObject::co_linetable"},
            .code_adaptive = {free_threaded ? 232 : 208, "PyCodeObject::co_code_adaptive"},
            .tlbc = {free_threaded ? 224 : -1, "PyCodeObject::co_tlbc"}};
  l.objects = {
      .ob_type = {8 + ft, "PyObject::ob_type"},
      .interp_modules = {free_threaded ? 7712 : 7688, "PyInterpreterState::imports.modules"},
      .module_dict = {16 + ft, "PyModuleObject::md_dict"},
      .type_basicsize = {32 + ft, "PyTypeObject::tp_basicsize"},
      .type_flags = {168 + ft, "PyTypeObject::tp_flags"},
      .heap_type_cached_keys = {880 + ft, "PyHeapTypeObject::ht_cached_keys"},
      .thread_name_attribute = "_name"};
  if (free_threaded) {
    l.interpreter.config_enable_gil = {8344, "PyInterpreterState::config.enable_gil"};
    l.objects.module_def = {40, "PyModuleObject::md_def"};
    l.objects.module_gil = {72, "PyModuleObject::md_gil"};
    l.objects.module_gil_model = ModuleGilModel::kGilSlot314;
  }
  l.dict = free_threaded ? kDict314FreeThreaded : kDict313;
  l.strings = free_threaded ? kStrings314FreeThreaded : kStrings312;
  l.native_call_opcodes = kCallOpcodes314;
  l.eval_breaker_opcodes = kEvalBreakerOpcodes314;
  return l;
}

// 3.15 moved thread ids (PyThreadState grew base_frame and profiling fields), the interpreter
// list and module dict, and added gil_requested.
constexpr PythonLayout Python315(bool free_threaded) {
  PythonLayout l = Python314(free_threaded);
  l.minor = 15;
  l.tested_on = "3.15.0rc1";
  const int32_t ft = free_threaded ? 16 : 0;
  l.runtime.interpreters_head = {936, "_PyRuntimeState::interpreters.head"};
  l.interpreter.next = {7264, "PyInterpreterState::next"};
  l.interpreter.threads_head = {7336, "PyInterpreterState::threads.head"};
  l.interpreter.id = {7272, "PyInterpreterState::id"};
  l.thread.thread_id = {176, "PyThreadState::thread_id"};
  l.thread.native_thread_id = {184, "PyThreadState::native_thread_id"};
  l.thread.gil_requested = {40, "PyThreadState::gil_requested"};
  l.objects.interp_modules = {7592, "PyInterpreterState::imports.modules"};
  l.objects.heap_type_cached_keys = {888 + ft, "PyHeapTypeObject::ht_cached_keys"};
  if (free_threaded) {  // PyModuleObject lost md_def: md_token (is_def) and md_requires_gil
    l.interpreter.config_enable_gil = {8280, "PyInterpreterState::config.enable_gil"};
    l.objects.module_def = {64, "PyModuleObject::md_token_is_def"};
    l.objects.module_gil = {65, "PyModuleObject::md_requires_gil"};
    l.objects.module_gil_model = ModuleGilModel::kRequiresGil315;
  }
  l.native_call_opcodes = kCallOpcodes315;
  l.eval_breaker_opcodes = kEvalBreakerOpcodes315;
  return l;
}

constexpr PythonLayout kPython314 = Python314(false);
constexpr PythonLayout kPython314t = Python314(true);
constexpr PythonLayout kPython315 = Python315(false);
constexpr PythonLayout kPython315t = Python315(true);

}  // namespace

const std::vector<const PythonLayout*>& AllLayouts() {
  static const std::vector<const PythonLayout*> layouts = {
      &kPython27,  &kPython36,  &kPython37,  &kPython38,   &kPython39,  &kPython310, &kPython311,
      &kPython312, &kPython313, &kPython314, &kPython314t, &kPython315, &kPython315t};
  return layouts;
}

const PythonLayout* FindLayout(int major, int minor, int micro, bool free_threaded) {
  for (const PythonLayout* layout : AllLayouts()) {
    if (layout->major == major && layout->minor == minor &&
        layout->free_threaded == free_threaded) {
      return micro >= layout->min_micro ? layout : nullptr;
    }
  }
  return nullptr;
}

std::string SupportedVersionsText() {
  std::vector<std::string> names;
  for (const PythonLayout* layout : AllLayouts()) {
    const std::string minor =
        absl::StrCat(layout->major, ".", layout->minor, layout->free_threaded ? "t" : "");
    names.push_back(layout->min_micro > 0
                        ? absl::StrCat(minor, " (", minor, ".", layout->min_micro, "+)")
                        : minor);
  }
  return absl::StrJoin(names, ", ");
}

std::vector<Field> AllFields(const PythonLayout& l) {
  std::vector<Field> all = {l.objects.ob_type,
                            l.gil.enabled,
                            l.thread.status,
                            l.thread.holds_gil,
                            l.thread.gil_requested,
                            l.interpreter_frame.tlbc_index,
                            l.code.tlbc,
                            l.runtime.interpreters_head,
                            l.runtime.ceval_gil,
                            l.runtime.tstate_current,
                            l.interpreter.next,
                            l.interpreter.threads_head,
                            l.interpreter.id,
                            l.interpreter.ceval_gil,
                            l.interpreter.config_enable_gil,
                            l.gil.last_holder,
                            l.gil.locked,
                            l.gil.switch_number,
                            l.gil.cond,
                            l.gil.mutex,
                            l.gil.switch_cond,
                            l.gil.switch_mutex,
                            l.thread.next,
                            l.thread.interp,
                            l.thread.frame,
                            l.thread.cframe,
                            l.thread.cframe_current_frame,
                            l.thread.current_frame,
                            l.thread.thread_id,
                            l.thread.native_thread_id,
                            l.frame_object.back,
                            l.frame_object.code,
                            l.frame_object.lasti,
                            l.interpreter_frame.code,
                            l.interpreter_frame.previous,
                            l.interpreter_frame.instr_ptr,
                            l.interpreter_frame.owner,
                            l.interpreter_frame.is_entry,
                            l.code.firstlineno,
                            l.code.filename,
                            l.code.name,
                            l.code.qualname,
                            l.code.code,
                            l.code.line_table,
                            l.code.code_adaptive,
                            l.objects.interp_modules,
                            l.objects.module_dict,
                            l.objects.type_basicsize,
                            l.objects.type_flags,
                            l.objects.type_dictoffset,
                            l.objects.heap_type_cached_keys,
                            l.objects.module_def,
                            l.objects.module_gil,
                            l.dict.used,
                            l.dict.table,
                            l.dict.mask,
                            l.dict.keys,
                            l.dict.values,
                            l.dict.keys_size,
                            l.dict.keys_log2_size,
                            l.dict.keys_log2_index_bytes,
                            l.dict.keys_kind,
                            l.dict.keys_nentries,
                            l.dict.keys_indices,
                            l.dict.entry_hash,
                            l.dict.entry_key,
                            l.dict.entry_value,
                            l.dict.unicode_entry_key,
                            l.dict.unicode_entry_value,
                            l.dict.values_array,
                            l.dict.values_capacity,
                            l.dict.values_valid,
                            l.strings.bytes_size,
                            l.strings.bytes_data,
                            l.strings.unicode_length,
                            l.strings.unicode_state};
  std::vector<Field> present;
  for (const Field& field : all) {
    if (field.present()) present.push_back(field);
  }
  return present;
}

}  // namespace gilscope
