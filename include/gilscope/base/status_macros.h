// Status propagation helpers over absl::Status, in the style of Abseil-based codebases.
#ifndef GILSCOPE_BASE_STATUS_MACROS_H_
#define GILSCOPE_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define GILSCOPE_CONCAT_INNER_(a, b) a##b
#define GILSCOPE_CONCAT_(a, b) GILSCOPE_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` yields a non-OK status.
#define RETURN_IF_ERROR(expr)                            \
  do {                                                   \
    ::absl::Status gilscope_status_ = (expr);            \
    if (!gilscope_status_.ok()) return gilscope_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, Foo());` declares x from an OK StatusOr, or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(GILSCOPE_CONCAT_(gilscope_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()

#endif  // GILSCOPE_BASE_STATUS_MACROS_H_
