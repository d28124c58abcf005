// CPython's own native functions that merging native stacks needs to recognise, by name.
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "gilscope/layout/python_layout.h"

namespace gilscope {

// Every name below is a symbol (function or GCC clone) in the symbol table of at least one of
// the libpythons of 2.7.18, 3.6.15-3.13.0 that the tables above were checked on;
// tests/integration/layout_test.py checks that with nm.
const std::vector<absl::string_view>& CallPlumbingFunctions() {
  static const auto* const names = new std::vector<absl::string_view>{
      // The generic call API (Objects/call.c; before 3.7 Objects/abstract.c).
      "PyObject_Call", "_PyObject_Call", "PyObject_CallObject", "PyEval_CallObjectWithKeywords",
      "PyObject_CallNoArgs", "PyObject_CallOneArg", "PyObject_CallFunctionObjArgs",
      "PyObject_CallMethodObjArgs", "object_vacall", "PyObject_Vectorcall",
      "_PyObject_Vectorcall",         // 3.8
      "_PyObject_VectorcallTstate",   // out of line in 3.9, 3.10
      "_PyObject_VectorcallPrepend",  // 3.14: a bound call's self put in front
      "context_run",                  // 3.14: threading runs a thread's target in a Context
      "_Py_VectorCallInstrumentation_StackRefSteal",  // 3.15: the CALL path of the eval loop
      "_Py_VectorCall_StackRefSteal", "_PyCallMethodDescriptorFastWithKeywords_StackRef",  // 3.15
      "PyObject_VectorcallDict", "PyObject_VectorcallMethod", "_PyObject_FastCall",
      "_PyObject_FastCallDict", "_PyObject_FastCallDictTstate", "_PyObject_VectorcallDictTstate",
      "_PyObject_FastCallKeywords", "_PyObject_MakeTpCall", "_PyObject_Call_Prepend",
      "_PyObject_FastCall_Prepend", "PyVectorcall_Call", "_PyVectorcall_Call",
      // Python functions, up to the evaluation loop (Objects/call.c, Python/ceval.c).
      "function_call", "_PyFunction_FastCall", "_PyFunction_FastCallDict",
      "_PyFunction_FastCallKeywords", "_PyFunction_Vectorcall", "function_code_fastcall",
      "_PyEval_EvalCodeWithName", "_PyEval_EvalCode", "_PyEval_Vector", "PyEval_EvalCode",
      "PyEval_EvalCodeEx", "PyEval_EvalFrame",
      "PyEval_EvalFrameEx",  // 3.x: a wrapper; 2.7: the eval function (matched before this)
      // The evaluation loop's call dispatch, out of line in 2.7-3.8 (Python/ceval.c).
      "call_function", "call_function_tail", "ext_do_call",
      // Builtin functions and methods (Objects/methodobject.c).
      "PyCFunction_Call", "_PyCFunction_FastCallDict", "_PyCFunction_FastCallKeywords",
      "cfunction_call", "cfunction_call_varargs", "cfunction_vectorcall_FASTCALL",
      "cfunction_vectorcall_FASTCALL_KEYWORDS", "cfunction_vectorcall_FASTCALL_KEYWORDS_METHOD",
      "cfunction_vectorcall_NOARGS", "cfunction_vectorcall_O",
      // Bound methods (Objects/classobject.c; 2.7's instancemethod_call) and method descriptors
      // (Objects/descrobject.c).
      "instancemethod_call", "method_call", "method_vectorcall", "method_vectorcall_VARARGS",
      "method_vectorcall_VARARGS_KEYWORDS", "method_vectorcall_FASTCALL",
      "method_vectorcall_FASTCALL_KEYWORDS", "method_vectorcall_FASTCALL_KEYWORDS_METHOD",
      "method_vectorcall_NOARGS", "method_vectorcall_O", "methoddescr_call",
      "classmethoddescr_call", "_PyMethodDescr_FastCallKeywords", "wrapperdescr_call",
      "wrapper_call",
      // Instances with __call__, and slots calling Python dunders (Objects/typeobject.c).
      "slot_tp_call", "vectorcall_method", "vectorcall_maybe",
      // Resuming a generator or coroutine (Objects/genobject.c).
      "gen_send_ex", "gen_send_ex2", "gen_iternext", "gen_send"};
  return *names;
}

// Why each is here (Python/ceval_gil.h, 3.12+ Python/ceval_gil.c, Python/pystate.c):
// - take_gil: where every 3.x acquisition waits. Static, so named only with a full symbol table.
// - PyEval_RestoreThread (the end of Py_END_ALLOW_THREADS), PyEval_AcquireThread,
//   PyEval_AcquireLock, PyGILState_Ensure (C code entering Python from a foreign thread):
//   exported, so named even in a stripped interpreter, whose take_gil is not. In 2.7 they call
//   PyThread_acquire_lock on the GIL semaphore; that function is not listed, because every
//   other lock (threading.Lock) goes through it too.
// - _PyEval_AcquireLock (3.12+) and _PyThreadState_Attach (3.13: every way of taking the GIL
//   attaches the thread state), between those and take_gil.
// Not listed: drop_gil (its wait on switch_cond is the holder handing the GIL over, not a
// thread taking it); the eval loop's pending-work handlers (3.9-3.11 eval_frame_handle_pending,
// 3.12+ _Py_HandlePending), which also run signal handlers, pending calls and the GC, and
// which take the GIL only through take_gil: named exactly when take_gil is (neither is
// exported), so they would add nothing but wrong matches.
const std::vector<absl::string_view>& GilAcquireFunctions() {
  static const auto* const names = new std::vector<absl::string_view>{
      "take_gil",          "PyEval_RestoreThread", "PyEval_AcquireThread", "PyEval_AcquireLock",
      "PyGILState_Ensure", "_PyEval_AcquireLock",  "_PyThreadState_Attach"};
  return *names;
}

namespace {

// The symbol a GCC clone was made from: "take_gil.constprop.0" -> "take_gil".
absl::string_view CloneOrigin(absl::string_view function) {
  return function.substr(0, function.find('.'));
}

}  // namespace

bool IsCallPlumbing(absl::string_view function) {
  static const auto* const set = new absl::flat_hash_set<absl::string_view>(
      CallPlumbingFunctions().begin(), CallPlumbingFunctions().end());
  return set->contains(CloneOrigin(function));
}

bool IsGilAcquireFunction(absl::string_view function) {
  static const auto* const set = new absl::flat_hash_set<absl::string_view>(
      GilAcquireFunctions().begin(), GilAcquireFunctions().end());
  return set->contains(CloneOrigin(function));
}

bool IsEvalFunction(const PythonLayout& layout, absl::string_view function) {
  return layout.eval_function != nullptr && CloneOrigin(function) == layout.eval_function;
}

}  // namespace gilscope
