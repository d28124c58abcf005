// A caching decorator over RemoteMemory for the reads of one sample. A snapshot makes hundreds
// of small reads that cluster: 3.11+ frames sit side by side in a thread's data stack, older
// frames and code objects in the same allocator pools, and every frame's code object is read
// again to check it. Each small read is a process_vm_readv call whose fixed cost (finding the
// task, the ptrace access check) far exceeds copying a page, so this fetches the whole 4 KiB
// page around a read once and serves later reads in it from the copy.
//
// Samples of one target read much the same pages: each sample starts by fetching, in one
// batch (RemoteMemory::ReadMany), every page one of the last few samples used, so a sample of
// a steady program costs a few system calls rather than a few per thread.
//
// Same answers as the backing memory: a page is wholly readable or not (mappings are page
// granular), so a read succeeds through the cache exactly when it would without; when a page
// cannot be fetched the read goes to the backing memory as it is, for its own answer.
// Large reads pass through uncached.
//
// The copies are only as fresh as the moment they were fetched: call Clear() whenever the
// target may have run since (SnapshotTaker does at the start of every sample); the first read
// after it fetches afresh. Within one sample of a paused target nothing changes; without a
// pause, reads from one copy are more consistent than separate reads would be, never less.
#ifndef GILSCOPE_MEMORY_PAGE_CACHE_H_
#define GILSCOPE_MEMORY_PAGE_CACHE_H_

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gilscope/memory/remote_memory.h"

namespace gilscope {

class PageCache : public RemoteMemory {
 public:
  static constexpr size_t kPageSize = 4096;
  // Reads larger than this go straight to the backing memory (line tables, big dict tables).
  static constexpr size_t kMaxCachedRead = 2 * kPageSize;
  // Pages kept per sample (16 MiB); past this, misses are read through without being kept.
  static constexpr size_t kMaxPages = 4096;
  // A page used in one of this many generations is fetched again at the start of the next:
  // stacks that come and go (a call made in a loop) keep their pages in the batch.
  static constexpr uint64_t kReplayGenerations = 4;

  // Keeps a reference: `backing` must outlive the cache.
  explicit PageCache(RemoteMemory& backing) : backing_(backing) {}
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  absl::Status Read(RemoteAddress address, void* out, size_t size) override;

  // Forgets every page, remembering which were used lately so the next read can fetch them
  // together.
  // Buffers and index are reused: no allocation in a steady state.
  void Clear();

  // Pages fetched from the backing memory since construction, and the backing reads that
  // fetched them (a batch counts once). For tests and measurement.
  uint64_t pages_fetched() const { return pages_fetched_; }
  uint64_t backing_reads() const { return backing_reads_; }

 private:
  struct Slot {
    uint64_t generation = 0;  // valid only while equal to generation_
    uint32_t index = 0;       // into pages_, when readable
    bool readable = false;    // false: the page could not be fetched in this generation
    uint64_t last_used = 0;   // the last generation that read from it (prefetched is not read)
  };
  using Page = std::array<uint8_t, kPageSize>;

  // The cached copy of the page at `page` (aligned), fetching it; nullptr when it cannot be
  // fetched or kept.
  const Page* Fetch(RemoteAddress page);
  // Fetches the pages the previous generation used, in one batch.
  void Replay();
  // A free buffer in this generation; false when the cache is full.
  bool Allocate(uint32_t* index);

  RemoteMemory& backing_;
  uint64_t generation_ = 1;
  bool replayed_ = true;    // nothing to replay before the first Clear()
  size_t used_ = 0;         // pages_[0, used_) hold this generation's pages
  std::deque<Page> pages_;  // a deque: growing never moves a page
  absl::flat_hash_map<RemoteAddress, Slot> index_;
  std::vector<RemoteAddress> replay_;  // pages lately used, for the next generation
  std::vector<ReadRequest> requests_;
  uint64_t pages_fetched_ = 0;
  uint64_t backing_reads_ = 0;
};

}  // namespace gilscope

#endif  // GILSCOPE_MEMORY_PAGE_CACHE_H_
