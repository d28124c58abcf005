// gilscope top (--pid PID | -- COMMAND...): samples on record's schedule into a sliding
// window, and every --interval draws the window (render/top_screen.h) on the terminal, or
// prints it as text with --plain. The loop polls keys between samples, so a key is seen
// within one sampling period.
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

#include "absl/strings/str_cat.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/stop_signals.h"
#include "cli/target_session.h"
#include "cli/terminal_screen.h"
#include "cli/top_options.h"
#include "gilscope/render/safe_text.h"
#include "gilscope/render/top_screen.h"

namespace gilscope {
namespace {

constexpr size_t kMaxWindowSamples = 20000;
constexpr size_t kMaxWindowFrames = 1'000'000;

size_t FramesOf(const Snapshot& snapshot) {
  size_t frames = 0;
  for (const ThreadSnapshot& thread : snapshot.threads) frames += thread.frames.size();
  return frames;
}
constexpr int kPlainWidth = 120;  // --plain screens: wide enough for every column
constexpr int kPlainHeight = 60;

TargetSessionOptions SessionOptions(const TopOptions& options) {
  return {.pid = options.pid,
          .command = options.command,
          .native = options.native,
          .keep_plumbing = options.keep_plumbing,
          .nonblocking = options.nonblocking,
          .rate_hz = options.rate_hz};
}

class Top {
 public:
  explicit Top(const TopOptions& options) : options_(options), session_(SessionOptions(options)) {
    controls_.mode = options.mode;
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
    if (absl::Status started = session_.Start(); !started.ok()) {
      PrintError(std::string(started.message()));
      return kExitFailure;
    }
    if (!options_.plain) {
      absl::StatusOr<std::unique_ptr<TerminalScreen>> screen = TerminalScreen::Open();
      if (!screen.ok()) {
        PrintError(std::string(screen.status().message()));
        session_.Finish(/*stopped_by_signal=*/false);
        return kExitFailure;
      }
      screen_ = *std::move(screen);
    }
    const SamplingStats stats = Sample();
    return Finish(stats);
  }

 private:
  SamplingStats Sample() {
    SamplingHooks hooks = session_.Hooks();
    hooks.on_sample = [&](const Snapshot& snapshot, absl::Time at) {
      window_.emplace_back(at, snapshot);
      window_frames_ += FramesOf(snapshot);
      while (window_.size() > 1 &&
             (window_.size() > kMaxWindowSamples || window_frames_ > kMaxWindowFrames)) {
        PopOldest();
      }
    };
    hooks.should_stop = [&]() {
      if (screen_) ReadKeys();
      return quit_ || StopSignal() != 0 || session_.ChildExited();
    };
    hooks.on_progress = [&](const SamplingStats&) { Show(); };
    hooks.progress_every = options_.interval;
    MonotonicClock clock;
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

  // The window's samples since (last - window) as a Profile, and the newest sample; not while
  // the display is frozen.
  void Rebuild() {
    if (controls_.frozen) return;
    if (!window_.empty()) {
      const absl::Time since = window_.back().first - options_.window;
      while (!window_.empty() && window_.front().first < since) PopOldest();
    }
    shown_ = std::make_unique<Profile>();
    for (const auto& [at, snapshot] : window_) shown_->AddSample(snapshot, at);
    latest_ = window_.empty() ? std::optional<Snapshot>() : window_.back().second;
    span_ =
        window_.size() > 1 ? window_.back().first - window_.front().first : absl::ZeroDuration();
    shown_samples_ = window_.size();
  }

  void PopOldest() {
    window_frames_ -= FramesOf(window_.front().second);
    window_.pop_front();
  }

  TopInfo Info() const {
    TopInfo info;
    info.pid = session_.pid();
    info.python_version = session_.target().version.text;
    info.command_line = session_.target().command_line;
    info.rate_asked_hz = options_.rate_hz;
    const double span = absl::ToDoubleSeconds(span_);
    info.rate_achieved_hz = span > 0 ? static_cast<double>(shown_samples_ - 1) / span : 0;
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
    if (end == SamplingEnd::kStopped && session_.ChildExited()) end = SamplingEnd::kTargetExited;
    const bool target_gone = end == SamplingEnd::kTargetExited ||
                             end == SamplingEnd::kTargetReplaced || end == SamplingEnd::kFailed;
    if (target_gone) {
      status_ = absl::StrCat(
          end == SamplingEnd::kFailed ? absl::StrCat("sampling stopped: ", stats.failure.message())
                                      : SamplingEndName(end),
          session_.ChildExited() ? absl::StrCat(" (", session_.child()->ExitDescription(), ")")
                                 : "");
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
    if (quit_) {
      session_.StopChild();
    } else {
      session_.Finish(stopped_by_signal);
    }
    if (end == SamplingEnd::kFailed) {
      PrintError(absl::StrCat("sampling stopped: ", stats.failure.message()));
      return kExitFailure;
    }
    return kExitOk;
  }

  const TopOptions& options_;
  TargetSession session_;
  std::unique_ptr<TerminalScreen> screen_;  // none with --plain
  std::deque<std::pair<absl::Time, Snapshot>> window_;
  size_t window_frames_ = 0;  // frames held by window_'s samples
  TopControls controls_;
  std::unique_ptr<Profile> shown_;  // the window as last rebuilt
  std::optional<Snapshot> latest_;
  absl::Duration span_;
  size_t shown_samples_ = 0;
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
