// The CPUs a process may use: its affinity mask (/proc/PID/status Cpus_allowed_list), bounded
// by its cgroup's CPU quota (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us over cfs_period_us),
// the tightest of the cgroup and its ancestors. For the what-if estimate: a target pinned to
// one CPU gains nothing from losing the GIL, whatever the machine has.
#ifndef GILSCOPE_PROC_CPU_BUDGET_H_
#define GILSCOPE_PROC_CPU_BUDGET_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace gilscope {

// The CPUs the target may use: its affinity mask, bounded by its cgroup's CPU quota.
struct CpuBudget {
  double cpus = 1;
  // Where the count comes from, for the reader: "its affinity", "its cgroup's CPU quota,
  // within an affinity of 4 CPUs", "the machine's count: the target's affinity could not be
  // read".
  std::string source;
  bool from_machine = false;  // the target's own could not be read
};

// Pure: the number of CPUs in a list such as "0-3,8,10-11"; nullopt when malformed.
std::optional<int> CountCpuList(absl::string_view list);

// Pure: the CPUs a cgroup v2 cpu.max allows ("150000 100000" -> 1.5); nullopt for "max" (no
// quota) or a malformed text.
std::optional<double> CpuMaxQuota(absl::string_view cpu_max);

// Pure: the CPUs of a cgroup v1 quota (cfs_quota_us, cfs_period_us); nullopt for -1 (none) or
// malformed texts.
std::optional<double> CfsQuota(absl::string_view quota_us, absl::string_view period_us);

// Pure: from /proc/PID/cgroup, the unified (v2) path and the path in the v1 hierarchy holding
// the cpu controller, each empty when absent. Paths with ".." are refused (left empty).
struct CgroupPaths {
  std::string unified;
  std::string cpu_v1;
  std::string cpu_v1_controllers;  // the hierarchy's controllers as listed: "cpu,cpuacct"
};
CgroupPaths ParseProcCgroup(absl::string_view text);

// The target's budget; the machine's CPU count, said so, when its affinity cannot be read.
// `sys_cgroup` is where the cgroup file systems are mounted (tests substitute a directory).
CpuBudget ReadCpuBudget(pid_t pid, const std::string& sys_cgroup = "/sys/fs/cgroup");

}  // namespace gilscope

#endif  // GILSCOPE_PROC_CPU_BUDGET_H_
