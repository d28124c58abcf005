// PageCache: the same answers as the memory under it, fewer reads of it.
#include "gilscope/memory/page_cache.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "support/fake_memory.h"

namespace gilscope {
namespace {

using testing::FakeMemory;

constexpr RemoteAddress kBase = 0x100000;
constexpr size_t kPage = PageCache::kPageSize;

// Fake memory that counts what is asked of it.
class CountingMemory : public FakeMemory {
 public:
  absl::Status Read(RemoteAddress address, void* out, size_t size) override {
    ++single_reads;
    return FakeMemory::Read(address, out, size);
  }
  void ReadMany(absl::Span<ReadRequest> requests) override {
    ++batches;
    batched_requests += requests.size();
    for (ReadRequest& request : requests) {
      request.ok = FakeMemory::Read(request.address, request.out, request.size).ok();
    }
  }
  int single_reads = 0;
  int batches = 0;
  size_t batched_requests = 0;
};

// Eight pages of bytes 0, 1, 2, ... (mod 251) from kBase.
std::vector<uint8_t> Pattern(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i % 251);
  return bytes;
}

class PageCacheTest : public ::testing::Test {
 protected:
  PageCacheTest() : pattern_(Pattern(8 * kPage)) { backing_.Map(kBase, pattern_); }

  std::vector<uint8_t> ReadThrough(RemoteAddress address, size_t size) {
    std::vector<uint8_t> out(size);
    EXPECT_TRUE(cache_.Read(address, out.data(), size).ok()) << address;
    return out;
  }
  std::vector<uint8_t> Expected(RemoteAddress address, size_t size) {
    return std::vector<uint8_t>(pattern_.begin() + (address - kBase),
                                pattern_.begin() + (address - kBase + size));
  }

  std::vector<uint8_t> pattern_;
  CountingMemory backing_;
  PageCache cache_{backing_};
};

TEST_F(PageCacheTest, GivesTheSameBytesAsTheBackingMemory) {
  struct Case {
    const char* name;
    RemoteAddress address;
    size_t size;
  };
  const Case cases[] = {
      {"start of a page", kBase, 16},
      {"inside a page", kBase + 100, 200},
      {"end of a page", kBase + kPage - 8, 8},
      {"across two pages", kBase + kPage - 5, 10},
      {"a whole page", kBase + 2 * kPage, kPage},
      {"across three pages", kBase + kPage - 1, kPage + 2},
      {"too large to cache", kBase, 3 * kPage},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ReadThrough(c.address, c.size), Expected(c.address, c.size)) << c.name;
  }
}

TEST_F(PageCacheTest, ReadsEachPageOncePerGeneration) {
  ReadThrough(kBase + 8, 8);
  ReadThrough(kBase + 512, 64);
  ReadThrough(kBase + kPage - 8, 8);
  EXPECT_EQ(backing_.single_reads, 1);
  EXPECT_EQ(cache_.pages_fetched(), 1u);
  ReadThrough(kBase + kPage + 8, 8);
  EXPECT_EQ(backing_.single_reads, 2);
}

TEST_F(PageCacheTest, ClearForgetsTheCopies) {
  ReadThrough(kBase + 8, 8);
  backing_.Put<uint64_t>(kBase + 8, 0x1122334455667788);         // the target ran
  EXPECT_EQ(ReadThrough(kBase + 8, 8), Expected(kBase + 8, 8));  // same generation: the copy
  cache_.Clear();
  uint64_t now = 0;
  ASSERT_TRUE(cache_.Read(kBase + 8, &now, sizeof now).ok());
  EXPECT_EQ(now, 0x1122334455667788u);
}

TEST_F(PageCacheTest, NextGenerationFetchesTheUsedPagesInOneBatch) {
  for (int page : {0, 2, 5}) ReadThrough(kBase + page * kPage + 16, 16);
  EXPECT_EQ(backing_.single_reads, 3);
  cache_.Clear();
  for (int page : {5, 0, 2}) ReadThrough(kBase + page * kPage + 32, 16);
  EXPECT_EQ(backing_.single_reads, 3);  // no more single reads
  EXPECT_EQ(backing_.batches, 1);
  EXPECT_EQ(backing_.batched_requests, 3u);
}

TEST_F(PageCacheTest, PagesUnusedForSeveralGenerationsAreNotFetchedAgain) {
  ReadThrough(kBase, 8);
  ReadThrough(kBase + 3 * kPage, 8);
  for (uint64_t generation = 0; generation < PageCache::kReplayGenerations + 1; ++generation) {
    cache_.Clear();
    ReadThrough(kBase, 8);  // page 3 is no longer read
  }
  const size_t before = backing_.batched_requests;
  cache_.Clear();
  ReadThrough(kBase, 8);
  EXPECT_EQ(backing_.batched_requests - before, 1u);  // page 0 only
}

TEST_F(PageCacheTest, UnreadablePagesGetTheBackingMemorysAnswer) {
  // A small region in a page of its own: the page as a whole cannot be read, reads inside the
  // region can, and reads past it cannot: exactly as without the cache.
  const RemoteAddress island = kBase + 64 * kPage + 128;
  backing_.Map(island, std::vector<uint8_t>(32, 7));
  uint8_t bytes[32];
  EXPECT_TRUE(cache_.Read(island, bytes, 32).ok());
  EXPECT_EQ(bytes[31], 7);
  EXPECT_FALSE(cache_.Read(island + 16, bytes, 32).ok());
  EXPECT_FALSE(cache_.Read(kBase + 100 * kPage, bytes, 8).ok());
  EXPECT_FALSE(cache_.Read(0x10, bytes, 8).ok());
  // And in a batch: the unreadable page fails alone.
  ReadThrough(kBase, 8);
  cache_.Clear();
  EXPECT_TRUE(cache_.Read(island, bytes, 32).ok());
  EXPECT_EQ(ReadThrough(kBase + 4, 4), Expected(kBase + 4, 4));
}

TEST_F(PageCacheTest, KeepsAnsweringWhenFull) {
  std::vector<uint8_t> big = Pattern((PageCache::kMaxPages + 8) * kPage);
  const RemoteAddress far = 0x40000000;
  backing_.Map(far, big);
  for (size_t page = 0; page < PageCache::kMaxPages + 8; ++page) {
    uint8_t byte = 0;
    ASSERT_TRUE(cache_.Read(far + page * kPage + 3, &byte, 1).ok());
    ASSERT_EQ(byte, big[page * kPage + 3]);
  }
}

}  // namespace
}  // namespace gilscope
