// gilscope top (--pid PID | -- COMMAND...): samples on record's schedule into a sliding
// window, and every --interval draws the window (render/top_screen.h) on the terminal, or
// prints it as text with --plain. The loop polls keys between samples, so a key is seen
// within one sampling period. With --subprocesses every Python process of the tree is
// sampled on the same schedule (cli/tree_sampler.h), its samples under a root frame of its
// own, and the screen gives each its GIL figures.
//
// The window keeps the samples themselves, not counts: each screen is a Profile rebuilt from
// them, so every figure on it is exactly the window's. Bounded by kMaxWindowSamples and
// kMaxWindowFrames (about 40 bytes each): past either the oldest samples go first, and the
// header's span says how much the window covers.
#include <unistd.h>

#include <deque>
#include <iostream>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/stop_signals.h"
#include "cli/target_session.h"
#include "cli/terminal_screen.h"
#include "cli/top_options.h"
#include "cli/tree_sampler.h"
#include "gilscope/render/safe_text.h"
#include "gilscope/render/top_screen.h"

namespace gilscope {
namespace {

constexpr size_t kMaxWindowSamples = 20000;
constexpr size_t kMaxWindowFrames = 1'000'000;
constexpr size_t kMaxThreadsMapped = 1 << 16;  // thread_process_: beyond, threads group by name

// A sample of the window: of the process at `process` in the tree (0 without --subprocesses),
// taken at the schedule's tick `tick`.
struct WindowSample {
  absl::Time at;
  size_t process = 0;
  int64_t tick = 0;
  Snapshot snapshot;
};

size_t FramesOf(const Snapshot& snapshot) {
  size_t frames = 0;
  for (const ThreadSnapshot& thread : snapshot.threads) frames += thread.frames.size();
  return frames;
}
constexpr int kPlainWidth = 120;  // --plain screens: wide enough for every column
constexpr int kPlainHeight = 60;

class Top {
 public:
  explicit Top(const TopOptions& options) : options_(options) {
    controls_.mode = options.mode;
    if (options.subprocesses) {
      tree_.emplace(SessionOptionsOf(options), absl::Seconds(1) / options.rate_hz);
    } else {
      session_.emplace(SessionOptionsOf(options));
    }
    controls_.by_thread = options.by_thread;
  }

  int Run() {
    if (!options_.plain && (isatty(STDOUT_FILENO) != 1 || isatty(STDIN_FILENO) != 1)) {
      PrintError(
          "top draws on a terminal: use --plain for text screens, or 'gilscope record' to write "
          "a profile");
      return kExitUsage;
    }
    InstallStopHandlers();
    if (absl::Status started = tree_ ? tree_->Start() : session_->Start(); !started.ok()) {
      PrintError(std::string(started.message()));
      return kExitFailure;
    }
    if (!options_.plain) {
      absl::StatusOr<std::unique_ptr<TerminalScreen>> screen = TerminalScreen::Open();
      if (!screen.ok()) {
        PrintError(std::string(screen.status().message()));
        if (TargetSession* root = LaunchedRoot()) root->Finish(/*stopped_by_signal=*/false);
        return kExitFailure;
      }
      screen_ = *std::move(screen);
    }
    const SamplingStats stats = Sample();
    return Finish(stats);
  }

 private:
  // The session of the program top launched, if any (without --subprocesses: the only one).
  TargetSession* LaunchedRoot() {
    if (session_) return &*session_;
    return tree_->launched() ? &tree_->processes().front()->session : nullptr;
  }
  bool LaunchedRootExited() {
    TargetSession* root = LaunchedRoot();
    return root != nullptr && root->ChildExited();
  }

  void AddToWindow(absl::Time at, size_t process, const Snapshot& snapshot) {
    window_.push_back({at, process, tick_, snapshot});
    window_frames_ += FramesOf(snapshot);
    while (window_.size() > 1 &&
           (window_.size() > kMaxWindowSamples || window_frames_ > kMaxWindowFrames)) {
      PopOldest();
    }
  }

  SamplingStats Sample() {
    MonotonicClock clock;
    SamplingHooks hooks;
    if (tree_) {
      hooks.take = [&]() -> absl::StatusOr<Snapshot> {
        absl::Status ticked = tree_->Tick(
            clock,
            [&](size_t index, Snapshot& snapshot, absl::Time at) {
              const TracedProcess& process = *tree_->processes()[index];
              for (ThreadSnapshot& thread : snapshot.threads) {
                thread.frames.push_back(Frame{.function = process.label, .line = -1});
                if (thread_process_.size() < kMaxThreadsMapped)
                  thread_process_.try_emplace(thread.native_id, process.found.pid);
              }
              AddToWindow(at, index, snapshot);
            },
            [](size_t) {});
        ++tick_;
        if (!ticked.ok()) return ticked;
        return Snapshot{};
      };
      hooks.on_sample = [](const Snapshot&, absl::Time) {};
      hooks.classify = [](const absl::Status&) { return FailureMeaning::kTargetExited; };
    } else {
      hooks = session_->Hooks();
      hooks.on_sample = [&](const Snapshot& snapshot, absl::Time at) {
        AddToWindow(at, 0, snapshot);
        ++tick_;
      };
    }
    hooks.should_stop = [&]() {
      if (screen_) ReadKeys();
      if (tree_) tree_->CheckLaunchedRoot();
      return quit_ || StopSignal() != 0 || (session_ && session_->ChildExited());
    };
    hooks.on_progress = [&](const SamplingStats&) {
      if (session_) session_->RefreshFreeThreadedGil();
      Show();
    };
    hooks.progress_every = options_.interval;
    return RunSamplingLoop(
        SamplingSchedule{static_cast<double>(options_.rate_hz), options_.duration}, hooks, clock);
  }

  void ReadKeys() {
    while (std::optional<TerminalScreen::Input> input = screen_->Read()) {
      if (input->event == TerminalScreen::Event::kResize) {
        Draw();
        continue;
      }
      const int key = input->key;
      if (key == 'q' || key == 'Q') {
        quit_ = true;
        return;
      }
      if (key == 'v') {
        controls_.mode = NextTopMode(controls_.mode);
      } else if (std::optional<ProfileMode> mode = TopModeForKey(key)) {
        controls_.mode = *mode;
      } else if (key == 's') {
        controls_.sort = controls_.sort == TopSort::kOwn ? TopSort::kTotal : TopSort::kOwn;
      } else if (key == 't') {
        controls_.show_idle = !controls_.show_idle;
      } else if (key == 'g') {
        controls_.by_thread = !controls_.by_thread;
      } else if (key == 'p') {
        controls_.frozen = !controls_.frozen;
        if (!controls_.frozen) Rebuild();
      } else if (key == 'r') {
        window_.clear();
        window_frames_ = 0;
        Rebuild();
      } else {
        continue;
      }
      Draw();
    }
  }

  // The window's samples since (last - window) as a Profile (and one per process of a tree),
  // and the newest sample (of each process); not while the display is frozen.
  void Rebuild() {
    if (controls_.frozen) return;
    if (!window_.empty()) {
      const absl::Time since = window_.back().at - options_.window;
      while (!window_.empty() && window_.front().at < since) PopOldest();
    }
    shown_ = std::make_unique<Profile>();
    for (const WindowSample& sample : window_) shown_->AddSample(sample.snapshot, sample.at);
    latest_.reset();
    if (!window_.empty()) latest_ = window_.back().snapshot;
    if (tree_) RebuildProcesses();
    span_ = window_.size() > 1 ? window_.back().at - window_.front().at : absl::ZeroDuration();
    shown_ticks_ = window_.empty() ? 0 : window_.back().tick - window_.front().tick + 1;
  }

  // Each process's share of the window, and a latest sample holding every process's newest
  // threads.
  void RebuildProcesses() {
    const size_t count = tree_->processes().size();
    process_windows_.clear();
    for (size_t i = 0; i < count; ++i) process_windows_.push_back(std::make_unique<Profile>());
    for (const WindowSample& sample : window_) {
      process_windows_[sample.process]->AddSample(sample.snapshot, sample.at);
    }
    std::vector<bool> seen(count, false);
    Snapshot latest;
    for (auto it = window_.rbegin(); it != window_.rend(); ++it) {
      if (seen[it->process]) continue;
      seen[it->process] = true;
      for (const ThreadSnapshot& thread : it->snapshot.threads) latest.threads.push_back(thread);
    }
    latest_ = window_.empty() ? std::optional<Snapshot>() : std::move(latest);
  }

  void PopOldest() {
    window_frames_ -= FramesOf(window_.front().snapshot);
    window_.pop_front();
  }

  TopInfo Info() const {
    TopInfo info;
    if (tree_) {
      info.pid = tree_->root();
      for (size_t i = 0; i < tree_->processes().size() && i < process_windows_.size(); ++i) {
        const TracedProcess& process = *tree_->processes()[i];
        const Profile& window = *process_windows_[i];
        if (!process.live && window.Figures().samples == 0) continue;
        info.processes.push_back({.pid = process.found.pid,
                                  .python_version = process.session.target().version.text,
                                  .command_line = process.session.target().command_line,
                                  .window = &window,
                                  .gone = !process.live,
                                  .cpu_budget = process.session.cpu_budget(),
                                  .free_threaded = process.session.target().free_threaded,
                                  .free_threaded_gil = process.session.free_threaded_gil()});
      }
      info.thread_process = thread_process_;
    } else {
      info.pid = session_->pid();
      info.python_version = session_->target().version.text;
      info.command_line = session_->target().command_line;
      info.free_threaded = session_->target().free_threaded;
      info.free_threaded_gil = session_->free_threaded_gil();
      info.cpu_budget = session_->cpu_budget();
    }
    info.rate_asked_hz = options_.rate_hz;
    const double span = absl::ToDoubleSeconds(span_);
    info.rate_achieved_hz = span > 0 ? static_cast<double>(shown_ticks_ - 1) / span : 0;
    info.window_s = absl::ToDoubleSeconds(options_.window);
    info.paused_target = !options_.nonblocking;
    info.status = status_;
    return info;
  }

  std::vector<ScreenLine> Render(int width, int height) const {
    static const Profile kEmpty;
    return RenderTopScreen(shown_ ? *shown_ : kEmpty, latest_ ? &*latest_ : nullptr, Info(),
                           controls_, width, height);
  }

  void Draw() {
    if (screen_) screen_->Draw(Render(screen_->width(), screen_->height()), !status_.empty());
  }

  // A new screen: drawn, or with --plain printed.
  void Show() {
    Rebuild();
    if (screen_) {
      Draw();
    } else {
      std::cout << ScreenText(Render(kPlainWidth, kPlainHeight)) << "\n" << std::flush;
    }
  }

  int Finish(const SamplingStats& stats) {
    SamplingEnd end = stats.end;
    if (end == SamplingEnd::kStopped && LaunchedRootExited()) end = SamplingEnd::kTargetExited;
    const bool target_gone = end == SamplingEnd::kTargetExited ||
                             end == SamplingEnd::kTargetReplaced || end == SamplingEnd::kFailed;
    TargetSession* root = LaunchedRoot();
    if (target_gone) {
      status_ = absl::StrCat(
          end == SamplingEnd::kFailed ? absl::StrCat("sampling stopped: ", stats.failure.message())
          : tree_                     ? "every process of the tree exited"
                                      : SamplingEndName(end),
          LaunchedRootExited() ? absl::StrCat(" (", root->child()->ExitDescription(), ")") : "");
    }
    const bool stopped_by_signal = StopSignal() != 0;
    if (screen_) {
      // The terminal is restored; a target that went leaves its last screen on it, as text.
      const int width = screen_->width(), height = screen_->height();
      screen_.reset();
      if (target_gone) std::cout << ScreenText(Render(width, height)) << std::flush;
    } else if (target_gone) {
      Show();
    }
    // A program top launched was started to be watched: q ends it, not a wait for its end.
    if (root != nullptr) {
      if (quit_) {
        root->StopChild();
      } else {
        root->Finish(stopped_by_signal);
      }
    }
    if (end == SamplingEnd::kFailed) {
      PrintError(absl::StrCat("sampling stopped: ", stats.failure.message()));
      return kExitFailure;
    }
    return kExitOk;
  }

  const TopOptions& options_;
  std::optional<TargetSession> session_;    // one process
  std::optional<TreeSampler> tree_;         // --subprocesses
  std::unique_ptr<TerminalScreen> screen_;  // none with --plain
  std::deque<WindowSample> window_;
  size_t window_frames_ = 0;  // frames held by window_'s samples
  int64_t tick_ = 0;          // the schedule's ticks so far
  TopControls controls_;
  std::unique_ptr<Profile> shown_;                         // the window as last rebuilt
  std::vector<std::unique_ptr<Profile>> process_windows_;  // --subprocesses: by process index
  absl::flat_hash_map<pid_t, pid_t> thread_process_;       // --subprocesses: by OS thread id
  std::optional<Snapshot> latest_;
  absl::Duration span_;
  int64_t shown_ticks_ = 0;
  std::string status_;
  bool quit_ = false;
};

}  // namespace

int RunTopCommand(const std::vector<std::string>& args) {
  return RunParsed(ParseTopOptions(args), [](const TopOptions& options) {
    Top top(options);
    return top.Run();
  });
}

}  // namespace gilscope
