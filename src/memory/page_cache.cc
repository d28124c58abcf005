#include "gilscope/memory/page_cache.h"

#include <algorithm>
#include <cstring>

namespace gilscope {

void PageCache::Clear() {
  replay_.clear();
  // Pages not used lately leave the index, so it holds about the working set.
  for (auto it = index_.begin(); it != index_.end();) {
    auto next = std::next(it);
    if (it->second.last_used + kReplayGenerations > generation_) {
      if (replay_.size() < kMaxPages) replay_.push_back(it->first);
    } else {
      index_.erase(it);
    }
    it = next;
  }
  ++generation_;
  used_ = 0;
  replayed_ = false;
}

bool PageCache::Allocate(uint32_t* index) {
  if (used_ >= kMaxPages) return false;
  if (used_ == pages_.size()) pages_.emplace_back();
  *index = static_cast<uint32_t>(used_++);
  return true;
}

void PageCache::Replay() {
  replayed_ = true;
  requests_.clear();
  for (RemoteAddress page : replay_) {
    Slot& slot = index_[page];
    if (slot.generation == generation_) continue;
    uint32_t index = 0;
    if (!Allocate(&index)) break;
    slot.generation = generation_;
    slot.index = index;
    slot.readable = false;
    requests_.push_back(ReadRequest{page, pages_[index].data(), kPageSize, false});
  }
  if (requests_.empty()) return;
  backing_.ReadMany(absl::MakeSpan(requests_));
  ++backing_reads_;
  for (const ReadRequest& request : requests_) {
    // A page that failed is remembered as such for this generation; a read that needs it
    // goes to the backing memory, which answers for it.
    index_[request.address].readable = request.ok;
    if (request.ok) ++pages_fetched_;
  }
}

const PageCache::Page* PageCache::Fetch(RemoteAddress page) {
  Slot& slot = index_[page];
  if (slot.generation == generation_) {
    if (!slot.readable) return nullptr;
    slot.last_used = generation_;
    return &pages_[slot.index];
  }
  uint32_t index = 0;
  if (!Allocate(&index)) return nullptr;
  slot.generation = generation_;
  slot.index = index;
  ++backing_reads_;
  slot.readable = backing_.Read(page, pages_[index].data(), kPageSize).ok();
  if (!slot.readable) return nullptr;  // remembered for this generation: not fetched again
  ++pages_fetched_;
  slot.last_used = generation_;
  return &pages_[index];
}

absl::Status PageCache::Read(RemoteAddress address, void* out, size_t size) {
  if (size == 0) return absl::OkStatus();
  const RemoteAddress first_page = address & ~RemoteAddress{kPageSize - 1};
  // The first page is never fetched (no object lives there), nor a range that wraps around.
  if (size > kMaxCachedRead || first_page < kLowestValidAddress || address + size < address) {
    return backing_.Read(address, out, size);
  }
  if (!replayed_) Replay();
  uint8_t* to = static_cast<uint8_t*>(out);
  RemoteAddress at = address;
  size_t left = size;
  while (left > 0) {
    const RemoteAddress page = at & ~RemoteAddress{kPageSize - 1};
    const size_t offset = static_cast<size_t>(at - page);
    const size_t chunk = std::min(left, kPageSize - offset);
    const Page* copy = Fetch(page);
    // Unreadable (or the cache is full): the backing memory answers for the whole read.
    if (copy == nullptr) return backing_.Read(address, out, size);
    std::memcpy(to, copy->data() + offset, chunk);
    to += chunk;
    at += chunk;
    left -= chunk;
  }
  return absl::OkStatus();
}

}  // namespace gilscope
