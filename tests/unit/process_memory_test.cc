// ProcessMemory on this very process: process_vm_readv needs no permission to read oneself.
#include "gilscope/memory/process_memory.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace gilscope {
namespace {

class ProcessMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    page_ = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    // Three pages, the middle one unmapped: a hole between two readable pages.
    void* map =
        ::mmap(nullptr, 3 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(map, MAP_FAILED);
    base_ = static_cast<uint8_t*>(map);
    for (size_t i = 0; i < 3 * page_; ++i) base_[i] = static_cast<uint8_t>(i * 7);
    ASSERT_EQ(::munmap(base_ + page_, page_), 0);
  }
  void TearDown() override {
    ::munmap(base_, page_);
    ::munmap(base_ + 2 * page_, page_);
  }
  RemoteAddress At(size_t offset) const { return reinterpret_cast<RemoteAddress>(base_ + offset); }

  size_t page_ = 0;
  uint8_t* base_ = nullptr;
  ProcessMemory memory_{::getpid()};
};

TEST_F(ProcessMemoryTest, ReadManyReadsWhatItCanAndSaysWhichFailed) {
  uint8_t first[64], hole[8], across[16], last[32], low[8];
  ReadRequest requests[] = {
      {At(8), first, sizeof first},
      {At(page_ + 8), hole, sizeof hole},        // unmapped
      {At(page_ - 8), across, sizeof across},    // runs into the hole
      {At(2 * page_ + 100), last, sizeof last},  // after failures: still read
      {0x10, low, sizeof low},                   // the zero page: never valid
  };
  memory_.ReadMany(absl::MakeSpan(requests));
  EXPECT_TRUE(requests[0].ok);
  EXPECT_FALSE(requests[1].ok);
  EXPECT_FALSE(requests[2].ok);
  EXPECT_TRUE(requests[3].ok);
  EXPECT_FALSE(requests[4].ok);
  EXPECT_EQ(std::memcmp(first, base_ + 8, sizeof first), 0);
  EXPECT_EQ(std::memcmp(last, base_ + 2 * page_ + 100, sizeof last), 0);
}

TEST_F(ProcessMemoryTest, ReadManyAgreesWithRead) {
  std::vector<std::vector<uint8_t>> buffers(3000, std::vector<uint8_t>(24));  // past IOV_MAX
  std::vector<ReadRequest> requests;
  for (size_t i = 0; i < buffers.size(); ++i) {
    const size_t offset = (i % 2 ? 2 * page_ : 0) + (i * 13) % (page_ - 24);
    requests.push_back({At(offset), buffers[i].data(), buffers[i].size()});
  }
  memory_.ReadMany(absl::MakeSpan(requests));
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(requests[i].ok) << i;
    std::vector<uint8_t> expected(24);
    ASSERT_TRUE(memory_.Read(requests[i].address, expected.data(), expected.size()).ok());
    ASSERT_EQ(buffers[i], expected) << i;
  }
}

}  // namespace
}  // namespace gilscope
