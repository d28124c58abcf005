// How `gilscope dump` shows thread names: the Python name first, the OS name as a fallback.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "gilscope/render/dump_output.h"

namespace gilscope {
namespace {

ThreadSnapshot Thread(pid_t tid, std::string name, std::string os_name) {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.state = ThreadState::kIdle;
  thread.blocked_in = "futex";
  thread.name = std::move(name);
  thread.os_name = std::move(os_name);
  return thread;
}

class DumpNamesTest : public ::testing::Test {
 protected:
  DumpNamesTest() {
    target_.pid = 10;
    snapshot_.gils.push_back(GilSnapshot{});
    snapshot_.threads = {Thread(10, "MainThread", "python3"), Thread(11, "", "python3"),
                         Thread(12, "", ""), Thread(13, "same", "same")};
  }
  PythonTarget target_;
  Snapshot snapshot_;
};

TEST_F(DumpNamesTest, JsonNameIsThePythonNameElseTheOsName) {
  std::ostringstream out;
  WriteDumpJson({target_, snapshot_}, out);
  const nlohmann::json threads = nlohmann::json::parse(out.str())["threads"];
  ASSERT_EQ(threads.size(), 4u);
  EXPECT_EQ(threads[0]["name"], "MainThread");
  EXPECT_EQ(threads[0]["os_name"], "python3");
  EXPECT_EQ(threads[1]["name"], "python3");  // threading does not know it
  EXPECT_EQ(threads[1]["os_name"], "python3");
  EXPECT_TRUE(threads[2]["name"].is_null());
  EXPECT_TRUE(threads[2]["os_name"].is_null());
}

TEST_F(DumpNamesTest, TextHeadingShowsThePythonName) {
  std::ostringstream out;
  WriteDumpText({target_, snapshot_}, out);
  const std::string text = out.str();
  EXPECT_NE(text.find("Thread 10 \"MainThread\" (OS name \"python3\") [idle in futex]"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Thread 11 \"python3\" [idle in futex]"), std::string::npos) << text;
  EXPECT_NE(text.find("Thread 12 [idle in futex]"), std::string::npos) << text;
  EXPECT_NE(text.find("Thread 13 \"same\" [idle in futex]"), std::string::npos) << text;
}

}  // namespace
}  // namespace gilscope
