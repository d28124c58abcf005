// The processes of a tree being sampled, as `record --subprocesses` and `top --subprocesses`
// both follow them: the tree of the target is read at the start and about once a second after;
// every process in it that runs Python gets its own session (version, layout, taker, pause).
// One tick samples every live process in turn. A process whose sample took longer than a
// period sits the next tick out (counted as missed for it), so one slow process cannot hold
// the rest back for long.
#ifndef GILSCOPE_CLI_TREE_SAMPLER_H_
#define GILSCOPE_CLI_TREE_SAMPLER_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "cli/target_session.h"
#include "gilscope/proc/process_tree.h"
#include "gilscope/sample/shared_text.h"
#include "gilscope/sample/snapshot.h"
#include "gilscope/sampler/sampling_loop.h"

namespace gilscope {

// One process of the tree.
struct TracedProcess {
  TracedProcess(const TreeProcess& found, const TargetSessionOptions& options)
      : found(found), session(options) {}
  TreeProcess found;
  TargetSession session;
  SamplingHooks hooks;  // take and classify, from the session
  SharedText label;     // "pid N: command", the root frame of its stacks in combined views
  bool live = true;
  bool sit_out = false;  // its last sample over-ran a period: skip the next tick
  int consecutive_failures = 0;
  int64_t ticks = 0, missed = 0;
  std::string end_reason;  // why it stopped being sampled, while others went on
  std::optional<absl::Time> first_sample_wall;
};

class TreeSampler {
 public:
  // `options` is the root's: pid, or command in launch mode; the others are attached with the
  // same sampling options.
  TreeSampler(const TargetSessionOptions& options, absl::Duration period)
      : options_(options), period_(period) {}

  // Launch mode: the launched program is the root and must run Python. Attach mode: the root
  // may be anything, if the tree holds Python. NotFound when nothing can be sampled.
  absl::Status Start();

  // Told of every snapshot taken (the process's index in processes()), and of every transient
  // failure.
  using OnSnapshot = std::function<void(size_t index, Snapshot& snapshot, absl::Time at)>;
  using OnError = std::function<void(size_t index)>;

  // One tick: the tree re-read when due, then every live process in turn. NotFound once no
  // process is live and the root is gone.
  absl::Status Tick(MonotonicClock& clock, const OnSnapshot& on_snapshot, const OnError& on_error);

  // Launch mode: notices the root's exit (its reaped pid no longer shows in /proc).
  void CheckLaunchedRoot();

  // Every process adopted so far, in the order found (the root first when it runs Python).
  const std::vector<std::unique_ptr<TracedProcess>>& processes() const { return processes_; }
  std::vector<std::unique_ptr<TracedProcess>>& processes() { return processes_; }
  pid_t root() const { return root_; }
  bool launched() const { return !options_.command.empty(); }
  // Descendants never sampled: beyond the tree's cap, or Python candidates beyond the cap.
  size_t left_out() const { return left_out_ + over_cap_.size(); }
  size_t over_cap() const { return over_cap_.size(); }

 private:
  TargetSessionOptions SessionOptions(pid_t pid) const;
  void Adopt(std::unique_ptr<TracedProcess> process);
  void Scan();
  void SampleOne(size_t index, MonotonicClock& clock, const OnSnapshot& on_snapshot,
                 const OnError& on_error);

  const TargetSessionOptions options_;
  const absl::Duration period_;
  pid_t root_ = 0;
  bool root_gone_ = false;
  std::vector<std::unique_ptr<TracedProcess>> processes_;
  std::set<pid_t> sampled_;
  std::map<pid_t, std::string> not_python_;  // with the command line it had then
  std::set<pid_t> named_;                    // unreadable, already said on stderr
  std::set<pid_t> over_cap_;
  size_t left_out_ = 0;
  std::optional<absl::Time> next_scan_;
};

}  // namespace gilscope

#endif  // GILSCOPE_CLI_TREE_SAMPLER_H_
