// Interned frames and stacks: a recording sees the same few stacks thousands of times, so each
// distinct frame and stack is stored once and counted by id. Keys are the real sequences, not
// bare hashes, so two different stacks can never merge.
#ifndef GILSCOPE_AGGREGATE_STACK_TABLE_H_
#define GILSCOPE_AGGREGATE_STACK_TABLE_H_

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gilscope/sample/frame.h"

namespace gilscope {

using FrameId = uint32_t;
using StackId = uint32_t;

class StackTable {
 public:
  FrameId InternFrame(const Frame& frame);
  // `frames_root_first` is outermost first, as flame graphs draw them.
  StackId InternStack(const std::vector<FrameId>& frames_root_first);

  const Frame& frame(FrameId id) const { return frames_[id]; }
  const std::vector<FrameId>& stack(StackId id) const { return stacks_[id]; }
  size_t stack_count() const { return stacks_.size(); }

 private:
  // Views into frames_, whose elements never move (a deque), or into the frame looked up:
  // looking a frame up allocates nothing.
  struct FrameKey {
    std::string_view function, file;
    int line;
    FrameKind kind;  // a native symbol and a Python function of one name stay apart
    bool operator==(const FrameKey&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const FrameKey& key) {
      return H::combine(std::move(h), key.function, key.file, key.line, key.kind);
    }
  };
  // The same frame, told by its texts' identities: a hash of two pointers instead of two
  // strings. The key holds copies of the texts, so their buffers cannot be freed and their
  // addresses reused while it is here.
  struct SharedFrameKey {
    SharedText function, file;
    int line;
    FrameKind kind;
    bool operator==(const SharedFrameKey& other) const {
      return function.identity() == other.function.identity() &&
             file.identity() == other.file.identity() && line == other.line && kind == other.kind;
    }
    template <typename H>
    friend H AbslHashValue(H h, const SharedFrameKey& key) {
      return H::combine(std::move(h), key.function.identity(), key.file.identity(), key.line,
                        key.kind);
    }
  };
  static constexpr size_t kMaxSharedFrameKeys = 1 << 20;

  std::deque<Frame> frames_;
  absl::flat_hash_map<FrameKey, FrameId> frame_ids_;
  absl::flat_hash_map<SharedFrameKey, FrameId> shared_frame_ids_;
  std::vector<std::vector<FrameId>> stacks_;
  absl::flat_hash_map<std::vector<FrameId>, StackId> stack_ids_;
};

}  // namespace gilscope

#endif  // GILSCOPE_AGGREGATE_STACK_TABLE_H_
