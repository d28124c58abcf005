// The --summary file: the end-of-recording figures as one JSON object, for scripts and CI.
// Shares are fractions 0..1; figures a Python version cannot give are null.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "gilscope/aggregate/thread_groups.h"
#include "gilscope/aggregate/views.h"
#include "gilscope/render/free_threaded_gil_text.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/tree_summary.h"

namespace gilscope {
namespace {

// Keys in the order written, so the file reads recording, figures, threads, sites, verdict.
using Json = nlohmann::ordered_json;

constexpr size_t kTopSites = 5;

double Fraction(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

Json OrNull(const std::optional<double>& value) { return value ? Json(*value) : Json(); }

// A thread group lists this many of its members' ids at most (a server starts thousands).
constexpr size_t kMaxGroupIds = 64;

// A thread's (or a group's, over its members' samples) shares.
void AddShares(const ThreadShare& thread, Json& object) {
  object["interpreter_id"] = thread.interpreter_id >= 0 ? Json(thread.interpreter_id) : Json();
  object["samples"] = thread.samples;
  object["held"] = Fraction(thread.held, thread.samples);
  object["held_in_native"] = Fraction(thread.held_in_native, thread.samples);
  object["waiting"] = Fraction(thread.waiting, thread.samples);
  object["running_without_gil"] = Fraction(thread.running, thread.samples);
  object["idle"] = Fraction(thread.idle, thread.samples);
  object["unknown"] = Fraction(thread.unknown, thread.samples);
}

Json ThreadsJson(const std::vector<ThreadShare>& shares) {
  Json threads = Json::array();
  for (const ThreadShare& thread : shares) {
    Json object = {{"native_id", thread.native_id},
                   {"name", thread.name.empty() ? Json() : Json(thread.name)}};
    AddShares(thread, object);
    threads.push_back(std::move(object));
  }
  return threads;
}

// The groups the text table shows without --by-thread (always, whatever the flag: a script
// gets both the threads and their groups).
Json ThreadGroupsJson(const std::vector<ThreadShare>& shares) {
  Json groups = Json::array();
  for (const ThreadRow& row : GroupThreads(shares, /*by_thread=*/false)) {
    if (!row.is_group()) continue;
    Json object = {{"name", row.share.name}, {"threads", row.members.size()}};
    AddShares(row.share, object);
    const size_t listed = std::min(row.members.size(), kMaxGroupIds);
    object["native_ids"] =
        std::vector<pid_t>(row.members.begin(), row.members.begin() + static_cast<long>(listed));
    object["native_ids_left_out"] = row.members.size() - listed;
    groups.push_back(std::move(object));
  }
  return groups;
}

// The heaviest leaf frames of `mode`; share is of the view's whole weight.
Json SitesJson(const Profile& profile, ProfileMode mode) {
  const int64_t total = TotalWeight(ViewStacks(profile, mode));
  Json sites = Json::array();
  for (const SiteWeight& site : TopLeafFrames(profile, mode, kTopSites)) {
    const Frame& frame = profile.stacks().frame(site.frame);
    sites.push_back({
        {"function", frame.function.str()},
        {"file", frame.file.str()},
        {"line", frame.line >= 0 ? Json(frame.line) : Json()},
        {"native", frame.kind == FrameKind::kNative},
        {"weight", site.weight},
        {"share", Fraction(site.weight, total)},
    });
  }
  return sites;
}

Json EstimateJson(const WithoutGilEstimate& estimate) {
  return {{"kind", WithoutGilKindName(estimate.kind)},
          {"speedup", estimate.speedup},
          {"waiting_share", estimate.waiting_share},
          {"mean_wanting", estimate.mean_wanting},
          {"cpus", estimate.budget.cpus},
          {"cpus_source", estimate.budget.source},
          {"cpus_from_machine", estimate.budget.from_machine},
          {"text", estimate.text}};
}

// One entry per GIL: several with subinterpreters that have their own.
Json GilsJson(const Profile& profile, const RecordingInfo& info) {
  std::vector<std::pair<int64_t, WithoutGilEstimate>> estimates;
  if (info.cpu_budget) estimates = EstimateWithoutGilPerGil(profile, *info.cpu_budget);
  Json gils = Json::array();
  for (const PerGilFigures& gil : profile.PerGil()) {
    Json without_gil;
    for (const auto& [id, estimate] : estimates) {
      if (id == gil.interpreter_id) without_gil = EstimateJson(estimate);
    }
    gils.push_back({{"interpreter_id", gil.interpreter_id},
                    {"interpreter_ids", gil.interpreter_ids},
                    {"samples", gil.samples},
                    {"held", gil.held},
                    {"contention", gil.contention},
                    {"mean_waiters", gil.mean_waiters},
                    {"held_in_native", gil.held_in_native},
                    {"switches_per_s", OrNull(gil.switches_per_s)},
                    {"mean_hold_ms", OrNull(gil.mean_hold_ms)},
                    {"without_gil", without_gil}});
  }
  return gils;
}

double PausedShare(const RecordingInfo& info) {
  const double elapsed = absl::ToDoubleSeconds(info.elapsed);
  return elapsed > 0 ? absl::ToDoubleSeconds(info.paused_total) / elapsed : 0.0;
}

Json SummaryObject(const Profile& profile, const RecordingInfo& info) {
  const GilFigures figures = profile.Figures();
  const VerdictDecision decision = profile.Decide();
  const std::vector<ThreadShare> threads = profile.Threads();
  return {
      {"pid", info.pid},
      {"command_line", info.command_line},
      {"python_version", info.python_version},
      {"mode", ProfileModeName(info.mode)},
      {"rate_hz", info.rate_hz},
      {"paused", info.paused},
      // Share of the recording during which threads of the target were stopped, and the
      // stop per sample (0 without a pause).
      {"paused_share", PausedShare(info)},
      {"paused_us_per_sample", figures.samples > 0 ? absl::ToDoubleMicroseconds(info.paused_total) /
                                                         static_cast<double>(figures.samples)
                                                   : 0.0},
      {"native", info.native},
      {"idle_kept", info.idle_kept},
      {"by_interpreter", info.by_interpreter},
      {"end_reason", info.end_reason},
      {"samples", figures.samples},
      {"errors", figures.errors},
      {"late_samples", info.late_samples},
      {"missed_samples", info.missed_samples},
      {"duration_s", figures.duration_s},
      {"gil_held", figures.gil_held},
      {"contention", figures.contention},
      {"mean_waiters", figures.mean_waiters},
      {"held_in_native", figures.held_in_native},
      {"switches_per_s", OrNull(figures.switches_per_s)},
      {"mean_hold_ms", OrNull(figures.mean_hold_ms)},
      {"unobserved_switches_per_s", OrNull(info.unobserved_switches_per_s)},
      {"unobserved_window_s", info.unobserved_switches_per_s
                                  ? Json(absl::ToDoubleSeconds(info.unobserved_window))
                                  : Json()},
      {"unknown", figures.unknown},
      {"gil_disabled", figures.gil_disabled},
      {"gil_enabled", !figures.gil_never_enabled},
      // Free-threaded targets only: why the GIL is on or off (null for other builds).
      {"free_threaded_gil",
       info.free_threaded ? Json(FreeThreadedGilJson(info.free_threaded_gil)) : Json()},
      {"interpreters", profile.InterpreterIds()},
      {"gils", GilsJson(profile, info)},
      {"threads", ThreadsJson(threads)},
      {"thread_groups", ThreadGroupsJson(threads)},
      {"top_blame", SitesJson(profile, ProfileMode::kBlame)},
      {"top_waiting", SitesJson(profile, ProfileMode::kWait)},
      {"verdict", VerdictName(decision.verdict)},
      {"verdict_advice", decision.advice},
      {"verdict_reason", decision.reason},
      // The what-if estimate (without_gil.h); null when the target's CPUs were not read.
      {"without_gil",
       info.cpu_budget ? EstimateJson(EstimateWithoutGil(profile, *info.cpu_budget)) : Json()},
  };
}

// Names from the target may hold any bytes: invalid UTF-8 becomes U+FFFD rather than an
// exception or invalid JSON.
void Write(const Json& json, std::ostream& out) {
  out << json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace

void WriteSummaryJson(const Profile& profile, const RecordingInfo& info, std::ostream& out) {
  Write(SummaryObject(profile, info), out);
}

void WriteTreeSummaryJson(absl::Span<const ProcessResult> processes, size_t left_out,
                          std::ostream& out) {
  if (processes.empty()) return;
  std::vector<ProcessWeight> weights;
  Json items = Json::array();
  for (const ProcessResult& process : processes) {
    weights.push_back(WeightOf(*process.profile));
    Json item = {{"pid", process.info.pid},
                 {"parent_pid", process.parent_pid},
                 {"command_line", process.info.command_line}};
    const Json summary = SummaryObject(*process.profile, process.info);
    for (auto entry = summary.begin(); entry != summary.end(); ++entry) {
      if (!item.contains(entry.key())) item[entry.key()] = entry.value();
    }
    items.push_back(std::move(item));
  }
  const ProcessResult& top = processes[MostImportantProcess(weights)];
  Json json = SummaryObject(*top.profile, top.info);
  json["processes"] = std::move(items);
  json["processes_left_out"] = left_out;
  Write(json, out);
}

}  // namespace gilscope
