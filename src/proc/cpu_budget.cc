#include "gilscope/proc/cpu_budget.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gilscope {
namespace {

constexpr size_t kMaxFileBytes = 1 << 16;
constexpr int kMaxCgroupDepth = 64;

std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string text(kMaxFileBytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

bool SafeCgroupPath(absl::string_view path) {
  if (path.empty() || path.front() != '/' || path.size() > 4096) return false;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part == "..") return false;
  }
  return true;
}

// The tightest quota of the cgroup at `path` under `root` and of its ancestors.
template <typename QuotaAt>
std::optional<double> TightestQuota(const std::string& root, std::string path, QuotaAt quota_at) {
  std::optional<double> tightest;
  for (int depth = 0; depth < kMaxCgroupDepth; ++depth) {
    const std::string dir = path == "/" ? root : root + path;
    if (std::optional<double> quota = quota_at(dir)) {
      tightest = tightest ? std::min(*tightest, *quota) : *quota;
    }
    if (path == "/" || path.empty()) break;
    const size_t slash = path.rfind('/');
    path = slash == 0 ? "/" : path.substr(0, slash);
  }
  return tightest;
}

std::string CpuCount(double cpus) {
  return absl::StrFormat("%g CPU%s", cpus, cpus == 1 ? "" : "s");
}

}  // namespace

std::optional<int> CountCpuList(absl::string_view list) {
  list = absl::StripAsciiWhitespace(list);
  if (list.empty()) return std::nullopt;
  int count = 0;
  for (absl::string_view range : absl::StrSplit(list, ',')) {
    std::vector<absl::string_view> ends = absl::StrSplit(range, '-');
    int first = 0, last = 0;
    if (ends.size() == 1 && absl::SimpleAtoi(ends[0], &first)) {
      last = first;
    } else if (ends.size() != 2 || !absl::SimpleAtoi(ends[0], &first) ||
               !absl::SimpleAtoi(ends[1], &last)) {
      return std::nullopt;
    }
    if (first < 0 || last < first || last - first > (1 << 20)) return std::nullopt;
    count += last - first + 1;
  }
  return count;
}

std::optional<double> CpuMaxQuota(absl::string_view cpu_max) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(cpu_max), ' ', absl::SkipEmpty());
  double quota = 0, period = 0;
  if (fields.size() != 2 || fields[0] == "max" || !absl::SimpleAtod(fields[0], &quota) ||
      !absl::SimpleAtod(fields[1], &period) || quota <= 0 || period <= 0) {
    return std::nullopt;
  }
  return quota / period;
}

std::optional<double> CfsQuota(absl::string_view quota_us, absl::string_view period_us) {
  double quota = 0, period = 0;
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(quota_us), &quota) ||
      !absl::SimpleAtod(absl::StripAsciiWhitespace(period_us), &period) || quota <= 0 ||
      period <= 0) {
    return std::nullopt;
  }
  return quota / period;
}

CgroupPaths ParseProcCgroup(absl::string_view text) {
  CgroupPaths paths;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    // hierarchy-id:controllers:path; the path may itself hold ':'.
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3 || !SafeCgroupPath(fields[2])) continue;
    if (fields[0] == "0" && fields[1].empty()) {
      paths.unified = std::string(fields[2]);
      continue;
    }
    for (absl::string_view controller : absl::StrSplit(fields[1], ',')) {
      if (controller == "cpu") {
        paths.cpu_v1 = std::string(fields[2]);
        paths.cpu_v1_controllers = std::string(fields[1]);
      }
    }
  }
  return paths;
}

CpuBudget ReadCpuBudget(pid_t pid, const std::string& sys_cgroup) {
  CpuBudget budget;
  std::optional<int> affinity;
  if (std::optional<std::string> status = ReadSmallFile(absl::StrCat("/proc/", pid, "/status"))) {
    for (absl::string_view line : absl::StrSplit(*status, '\n')) {
      if (absl::ConsumePrefix(&line, "Cpus_allowed_list:")) affinity = CountCpuList(line);
    }
  }
  if (!affinity || *affinity <= 0) {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    budget.cpus = online > 0 ? static_cast<double>(online) : 1;
    budget.from_machine = true;
    budget.source = "the machine's count: the target's affinity could not be read";
    return budget;
  }
  budget.cpus = *affinity;
  budget.source = "its affinity";
  std::optional<double> quota;
  if (std::optional<std::string> text = ReadSmallFile(absl::StrCat("/proc/", pid, "/cgroup"))) {
    const CgroupPaths paths = ParseProcCgroup(*text);
    const auto v2 = [](const std::string& dir) -> std::optional<double> {
      std::optional<std::string> max = ReadSmallFile(dir + "/cpu.max");
      return max ? CpuMaxQuota(*max) : std::nullopt;
    };
    const auto v1 = [](const std::string& dir) -> std::optional<double> {
      std::optional<std::string> quota_us = ReadSmallFile(dir + "/cpu.cfs_quota_us");
      std::optional<std::string> period_us = ReadSmallFile(dir + "/cpu.cfs_period_us");
      return quota_us && period_us ? CfsQuota(*quota_us, *period_us) : std::nullopt;
    };
    if (!paths.unified.empty()) {
      for (const std::string& root : {sys_cgroup, sys_cgroup + "/unified"}) {
        if (std::optional<double> found = TightestQuota(root, paths.unified, v2)) quota = found;
      }
    }
    if (!quota && !paths.cpu_v1.empty()) {
      for (const std::string& mount :
           {paths.cpu_v1_controllers, std::string("cpu"), std::string("cpu,cpuacct")}) {
        if (quota) break;
        quota = TightestQuota(absl::StrCat(sys_cgroup, "/", mount), paths.cpu_v1, v1);
      }
    }
  }
  if (quota && *quota < budget.cpus) {
    budget.source =
        absl::StrCat("its cgroup's CPU quota, within an affinity of ", CpuCount(budget.cpus));
    budget.cpus = *quota;
  }
  return budget;
}

}  // namespace gilscope
