// One line on the terminal, rewritten in place while recording: samples, errors, GIL figures,
// and whether sampling keeps up. Silent when stderr is not a terminal.
#ifndef GILSCOPE_CLI_LIVE_STATUS_H_
#define GILSCOPE_CLI_LIVE_STATUS_H_

#include "gilscope/aggregate/profile.h"
#include "gilscope/sampler/sampling_loop.h"

namespace gilscope {

class LiveStatus {
 public:
  explicit LiveStatus(bool enabled) : enabled_(enabled) {}
  ~LiveStatus() { Clear(); }

  void Update(const SamplingStats& stats, const GilFigures& figures);
  void Clear();  // erases the line, before the summary is printed

 private:
  bool enabled_;
  bool shown_ = false;
};

}  // namespace gilscope

#endif  // GILSCOPE_CLI_LIVE_STATUS_H_
