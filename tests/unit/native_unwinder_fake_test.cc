// NativeUnwinder on made-up registers and stacks: registers pointing nowhere, maps that change,
// and frame-pointer stacks made up in this process's memory (chains, loops, depth, garbage),
// unwound by the CFI of this test's own code.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gilscope/memory/process_memory.h"
#include "gilscope/native/native_unwinder.h"
#include "support/fake_memory.h"

namespace gilscope {
namespace {

using testing::FakeMemory;

std::string Describe(const NativeStack& stack) {
  std::vector<std::string> lines;
  for (const NativeFrame& frame : stack.frames) {
    lines.push_back(absl::StrFormat("  %#x %s [%s+%#x]", frame.ip, frame.function, frame.object,
                                    frame.object_offset));
  }
  return absl::StrCat(absl::StrJoin(lines, "\n"), "\n  error: ", stack.error);
}

NativeUnwinderOptions FixedMaps(std::string text) {
  return {.read_maps = [text] { return absl::StatusOr<std::string>(text); }};
}

TEST(NativeUnwinderTest, RegistersPointingNowhereGiveOneFrameAndAnError) {
  FakeMemory memory;
  absl::StatusOr<std::unique_ptr<NativeUnwinder>> unwinder =
      NativeUnwinder::Create(::getpid(), memory, "", FixedMaps(""));
  ASSERT_TRUE(unwinder.ok()) << unwinder.status();
  struct Case {
    const char* name;
    ThreadRegisters registers;
  };
  const Case cases[] = {
      {"all zero", {}},
      {"unmapped ip", {.rip = 0xdeadbeef, .rsp = 0x7fff0000, .rbp = 0x7fff0100}},
      {"non-canonical ip", {.rip = 0xdead000000000000, .rsp = 0x10}},
      {"ip in the zero page", {.rip = 0x10, .rsp = 0xffffffffffffff00, .rbp = 1}},
  };
  for (const Case& c : cases) {
    NativeStack stack = (*unwinder)->UnwindFrom(c.registers);
    SCOPED_TRACE(Describe(stack));
    ASSERT_EQ(stack.frames.size(), 1u) << c.name;
    EXPECT_EQ(stack.frames[0].ip, c.registers.rip) << c.name;
    EXPECT_EQ(stack.frames[0].function, "") << c.name;
    EXPECT_NE(stack.error, "") << c.name;
  }
}

TEST(NativeUnwinderTest, AnonymousCodeWithoutStackStopsWithAnError) {
  FakeMemory memory;
  absl::StatusOr<std::unique_ptr<NativeUnwinder>> unwinder = NativeUnwinder::Create(
      ::getpid(), memory, "", FixedMaps("00500000-00501000 r-xp 00000000 00:00 0\n"));
  ASSERT_TRUE(unwinder.ok()) << unwinder.status();
  NativeStack stack =
      (*unwinder)->UnwindFrom({.rip = 0x500100, .rsp = 0x7fff0000, .rbp = 0x7fff0010});
  SCOPED_TRACE(Describe(stack));
  ASSERT_EQ(stack.frames.size(), 1u);
  EXPECT_EQ(stack.frames[0].object, "");  // JIT-like code: no object
  EXPECT_EQ(stack.frames[0].object_offset, 0x500100u);
  EXPECT_NE(stack.error, "");
}

TEST(NativeUnwinderTest, MapsAreReadAgainAtMostOncePerUnwind) {
  FakeMemory memory;
  int reads = 0;
  std::string text;  // no mappings at first
  NativeUnwinderOptions options{.read_maps = [&] {
    ++reads;
    return absl::StatusOr<std::string>(text);
  }};
  absl::StatusOr<std::unique_ptr<NativeUnwinder>> unwinder =
      NativeUnwinder::Create(::getpid(), memory, "", options);
  ASSERT_TRUE(unwinder.ok()) << unwinder.status();
  EXPECT_EQ(reads, 1);

  // WHEN code appears in a mapping made after Create THEN the unwind finds it by reading again.
  text = "00500000-00501000 r-xp 00000000 00:00 0\n";
  NativeStack stack = (*unwinder)->UnwindFrom({.rip = 0x500100, .rsp = 0x7fff0000});
  EXPECT_EQ(reads, 2);
  ASSERT_EQ(stack.frames.size(), 1u);
  EXPECT_EQ(stack.frames[0].object_offset, 0x500100u);
  EXPECT_EQ((*unwinder)->stats().cache_flushes, 1u);

  // A known ip reads nothing; an unknown one reads once per unwind however often it is looked up;
  // impossible ips never do.
  (*unwinder)->UnwindFrom({.rip = 0x500200, .rsp = 0x7fff0000});
  EXPECT_EQ(reads, 2);
  for (int i = 0; i < 3; ++i) {
    (*unwinder)->UnwindFrom({.rip = 0x600000, .rsp = 0x7fff0000});
    EXPECT_EQ(reads, 3 + i);
  }
  (*unwinder)->UnwindFrom({.rip = 0x10, .rsp = 0x7fff0000});
  (*unwinder)->UnwindFrom({.rip = uint64_t{1} << 60, .rsp = 0x7fff0000});
  EXPECT_EQ(reads, 5);
  EXPECT_EQ((*unwinder)->stats().cache_flushes, 1u);  // unchanged maps: libunwind's cache kept
  EXPECT_EQ((*unwinder)->stats().maps_reads, 5u);
}

// Frame-pointer stacks made up in this process's memory, unwound by the CFI of this test's own
// code (built with -fno-omit-frame-pointer: past the prologue, CFA = rbp + 16, the caller's rbp
// at CFA - 16 and the return address at CFA - 8).
__attribute__((noinline)) uint64_t ReturnAddress() {
  return reinterpret_cast<uint64_t>(__builtin_return_address(0));
}

// An ip inside this function, past its prologue.
__attribute__((noinline)) uint64_t IpInFramedFunction() {
  uint64_t ip = ReturnAddress();
  asm volatile("" : "+r"(ip));  // no tail call: the return address stays inside this function
  return ip;
}

class MadeUpStackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_.assign(64 * 1024, 0);
    auto unwinder = NativeUnwinder::Create(::getpid(), memory_, "");
    ASSERT_TRUE(unwinder.ok()) << unwinder.status();
    unwinder_ = *std::move(unwinder);
    ip_ = IpInFramedFunction();
  }
  // Address of word `index` of the made-up stack.
  uint64_t At(size_t index) const { return reinterpret_cast<uint64_t>(&stack_[index]); }
  // A frame record at word `index`: the caller's rbp, then the return address.
  void Frame(size_t index, uint64_t saved_rbp, uint64_t return_address) {
    stack_[index] = saved_rbp;
    stack_[index + 1] = return_address;
  }
  NativeStack UnwindFromFrame(size_t index) {
    return unwinder_->UnwindFrom({.rip = ip_, .rsp = At(index) - 64, .rbp = At(index)});
  }

  std::vector<uint64_t> stack_;
  ProcessMemory memory_{::getpid()};
  std::unique_ptr<NativeUnwinder> unwinder_;
  uint64_t ip_ = 0;
};

TEST_F(MadeUpStackTest, FramePointerChainIsFollowed) {
  Frame(1000, At(1100), ip_);
  Frame(1100, At(1200), ip_);
  Frame(1200, 0, 0);  // the outermost frame: return address 0
  NativeStack stack = UnwindFromFrame(1000);
  SCOPED_TRACE(Describe(stack));
  ASSERT_GE(stack.frames.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(absl::StrContains(stack.frames[i].function, "IpInFramedFunction")) << i;
  }
  EXPECT_LE(stack.frames.size(), 4u);
}

TEST_F(MadeUpStackTest, SelfLoopStopsWithAnError) {
  Frame(1000, At(1000), ip_);  // the saved rbp points at itself
  NativeStack stack = UnwindFromFrame(1000);
  SCOPED_TRACE(Describe(stack));
  EXPECT_NE(stack.error, "");
  EXPECT_LE(stack.frames.size(), 3u);
}

TEST_F(MadeUpStackTest, TwoFrameLoopStopsWhenTheStackPointerGoesDown) {
  Frame(1000, At(1100), ip_);
  Frame(1100, At(1000), ip_);
  NativeStack stack = UnwindFromFrame(1000);
  SCOPED_TRACE(Describe(stack));
  EXPECT_TRUE(absl::StrContains(stack.error, "stack pointer went down"));
  EXPECT_LE(stack.frames.size(), 4u);
}

TEST_F(MadeUpStackTest, DeepChainIsCutAtTheLimit) {
  const size_t depth = kMaxNativeFrames + 500;
  for (size_t i = 0; i < depth; ++i) Frame(1000 + 4 * i, At(1000 + 4 * (i + 1)), ip_);
  NativeStack stack = UnwindFromFrame(1000);
  EXPECT_EQ(stack.frames.size(), static_cast<size_t>(kMaxNativeFrames));
  EXPECT_TRUE(absl::StrContains(stack.error, "truncated")) << stack.error;
}

TEST_F(MadeUpStackTest, GarbageNeverCrashesOrHangs) {
  std::mt19937_64 random(42);
  // Words a stack might hold: return addresses, code addresses near real code, stack addresses,
  // small numbers, anything.
  auto word = [&]() -> uint64_t {
    switch (random() % 6) {
      case 0:
        return ip_;
      case 1:
        return ip_ - 4096 + random() % 8192;
      case 2:
        return At(random() % stack_.size());
      case 3:
        return random() % 4096;
      case 4:
        return 0;
      default:
        return random();
    }
  };
  size_t longest = 0, with_error = 0;
  constexpr int kRounds = 3000;
  for (int round = 0; round < kRounds; ++round) {
    for (size_t i = 1000; i < 9000; ++i) stack_[i] = word();
    // Most rounds hold a frame-pointer chain going up the stack, with some links corrupted.
    size_t at = 1000 + random() % 64;
    const size_t first = at;
    if (round % 4 != 0) {
      while (at < 8900) {
        const size_t next = at + 2 + random() % 64;
        Frame(at, random() % 50 == 0 ? word() : At(next), random() % 50 == 0 ? word() : ip_);
        at = next;
      }
    }
    const ThreadRegisters registers{.rip = round % 3 == 0 ? word() : ip_,
                                    .rsp = At(first) - 8 * (random() % 16),
                                    .rbp = round % 5 == 0 ? word() : At(first),
                                    .rbx = word(),
                                    .r12 = word()};
    NativeStack stack = unwinder_->UnwindFrom(registers);
    ASSERT_GE(stack.frames.size(), 1u);
    ASSERT_LE(stack.frames.size(), static_cast<size_t>(kMaxNativeFrames));
    longest = std::max(longest, stack.frames.size());
    if (!stack.error.empty()) ++with_error;
  }
  // The made-up chains are followed for a while, then garbage stops them.
  EXPECT_GT(longest, 20u);
  EXPECT_GT(with_error, 0u);
  std::printf("%d garbage stacks: longest %zu frames, %zu ended with an error\n", kRounds, longest,
              with_error);
}

}  // namespace
}  // namespace gilscope
