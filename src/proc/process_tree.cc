#include "gilscope/proc/process_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "gilscope/base/unique_fd.h"
#include "gilscope/proc/proc_parsers.h"

namespace gilscope {
namespace {

bool ByParentThenPid(const ProcessLink& a, const ProcessLink& b) {
  return a.parent_pid != b.parent_pid ? a.parent_pid < b.parent_pid : a.pid < b.pid;
}

// The first `limit` bytes of a /proc file; NotFound when it cannot be opened (the process is
// gone, or was never there).
absl::StatusOr<std::string> ReadHead(const std::string& path, size_t limit) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return errno == EACCES || errno == EPERM
               ? absl::PermissionDeniedError(absl::StrFormat("cannot read %s", path))
               : absl::NotFoundError(absl::StrFormat("cannot read %s", path));
  }
  std::string text(limit, '\0');
  size_t filled = 0;
  while (filled < limit) {
    const ssize_t got = ::read(fd.get(), text.data() + filled, limit - filled);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return absl::NotFoundError(absl::StrFormat("cannot read %s", path));
    if (got == 0) break;
    filled += static_cast<size_t>(got);
  }
  text.resize(filled);
  return text;
}

// A process's parent and state letter.
absl::StatusOr<std::pair<ProcessLink, char>> ReadLink(pid_t pid) {
  absl::StatusOr<std::string> text = ReadHead(absl::StrFormat("/proc/%d/stat", pid), 4096);
  if (!text.ok()) return text.status();
  absl::StatusOr<TaskStat> stat = ParseStat(*text);
  if (!stat.ok()) return stat.status();
  if (stat->parent_pid < 0) return absl::DataLossError("stat without a parent pid");
  return std::make_pair(ProcessLink{.pid = pid, .parent_pid = stat->parent_pid}, stat->state);
}

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

// Whether a process whose stat says Z is gone whole: its task directory lists the leader alone.
bool Zombie(pid_t pid) {
  std::unique_ptr<DIR, DirCloser> tasks(::opendir(absl::StrFormat("/proc/%d/task", pid).c_str()));
  if (tasks == nullptr) return true;
  int threads = 0;
  while (const dirent* entry = ::readdir(tasks.get())) {
    if (entry->d_name[0] != '.' && ++threads > 1) return false;
  }
  return true;
}

}  // namespace

TreeMembers DescendantsInTreeOrder(pid_t root, absl::Span<const ProcessLink> links, size_t cap) {
  TreeMembers tree;
  auto root_link = std::find_if(links.begin(), links.end(),
                                [root](const ProcessLink& link) { return link.pid == root; });
  if (root_link == links.end()) return tree;
  std::vector<ProcessLink> by_parent(links.begin(), links.end());
  std::sort(by_parent.begin(), by_parent.end(), ByParentThenPid);
  // Marked when first reached, so a pid listed under two parents, or its own, is taken once.
  absl::flat_hash_set<pid_t> reached = {root};
  std::vector<ProcessLink> to_visit = {*root_link};  // a stack: depth first without recursion
  while (!to_visit.empty()) {
    const ProcessLink next = to_visit.back();
    to_visit.pop_back();
    if (tree.members.size() < cap) {
      tree.members.push_back(next);
    } else {
      ++tree.left_out;
    }
    auto children = std::equal_range(
        by_parent.begin(), by_parent.end(), ProcessLink{.pid = 0, .parent_pid = next.pid},
        [](const ProcessLink& a, const ProcessLink& b) { return a.parent_pid < b.parent_pid; });
    // Pushed highest pid first, so the lowest is visited first.
    for (auto child = children.second; child != children.first;) {
      --child;
      if (reached.insert(child->pid).second) to_visit.push_back(*child);
    }
  }
  return tree;
}

std::string CommandLineText(absl::string_view cmdline) {
  std::string text = absl::StrReplaceAll(cmdline, {{absl::string_view("\0", 1), " "}});
  absl::StripTrailingAsciiWhitespace(&text);
  return text;
}

absl::StatusOr<ProcessTree> ReadProcessTree(pid_t root) {
  // The root is read first, so that a scan cut short still has it.
  absl::StatusOr<std::pair<ProcessLink, char>> root_link = ReadLink(root);
  if (!root_link.ok()) return absl::NotFoundError(absl::StrFormat("no process %d", root));
  std::vector<ProcessLink> links = {root_link->first};
  absl::flat_hash_map<pid_t, char> states = {{root, root_link->second}};
  ProcessTree tree;
  std::unique_ptr<DIR, DirCloser> proc(::opendir("/proc"));
  if (proc == nullptr) return absl::UnavailableError("cannot list /proc");
  size_t scanned = 0;
  while (const dirent* entry = ::readdir(proc.get())) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid) || pid <= 0 || pid == root) continue;
    if (scanned == kMaxScannedProcesses) {
      ++tree.unscanned;
      continue;
    }
    ++scanned;
    absl::StatusOr<std::pair<ProcessLink, char>> link = ReadLink(pid);
    if (!link.ok()) continue;  // gone since the listing
    links.push_back(link->first);
    states[pid] = link->second;
  }
  TreeMembers members = DescendantsInTreeOrder(root, links);
  tree.left_out = members.left_out;
  for (const ProcessLink& member : members.members) {
    absl::StatusOr<std::string> cmdline =
        ReadHead(absl::StrFormat("/proc/%d/cmdline", member.pid), kMaxCommandLine);
    tree.processes.push_back(
        {.pid = member.pid,
         .parent_pid = member.parent_pid,
         .command_line = cmdline.ok() ? CommandLineText(*cmdline) : "",
         .zombie = (states[member.pid] == 'Z' || states[member.pid] == 'X') && Zombie(member.pid)});
  }
  return tree;
}

}  // namespace gilscope
