// How `gilscope dump` shows thread names (the Python name first, the OS name as a fallback),
// interpreters (threads grouped under each when there are several) and a GIL that is off.
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
  DumpTarget target_;
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

// Interpreter 0 (main) and 1 (isolated) have their own GIL, each held while a thread waits;
// legacy interpreter 2 shares the main one's; a native thread has no interpreter.
class DumpInterpretersTest : public ::testing::Test {
 protected:
  DumpInterpretersTest() {
    target_.pid = 10;
    snapshot_.gils.resize(2);
    snapshot_.gils[0] = {0, true, true, 20, 7, 1};
    snapshot_.gils[1] = {1, true, true, 11, 300, 1};
    snapshot_.interpreters = {{0, 0}, {1, 1}, {2, 0}};
    snapshot_.threads = {
        InInterpreter(Thread(10, "MainThread", "python3"), 0, 0, ThreadState::kIdle),
        InInterpreter(Thread(11, "spin-1", ""), 1, 1, ThreadState::kHoldingGil),
        InInterpreter(Thread(12, "spin-2", ""), 1, 1, ThreadState::kWaitingForGil),
        InInterpreter(Thread(20, "legacy-1", ""), 2, 0, ThreadState::kHoldingGil),
        InInterpreter(Thread(21, "legacy-2", ""), 2, 0, ThreadState::kWaitingForGil)};
    ThreadSnapshot native = Thread(30, "", "helper");
    native.is_python = false;
    snapshot_.threads.push_back(native);
  }
  static ThreadSnapshot InInterpreter(ThreadSnapshot thread, int64_t id, int gil_index,
                                      ThreadState state) {
    thread.interpreter_id = id;
    thread.gil_index = gil_index;
    thread.state = state;
    thread.blocked_in = state == ThreadState::kIdle ? "futex" : "";
    return thread;
  }
  std::string Text() {
    std::ostringstream out;
    WriteDumpText({target_, snapshot_}, out);
    return out.str();
  }
  nlohmann::json Json() {
    std::ostringstream out;
    WriteDumpJson({target_, snapshot_}, out);
    return nlohmann::json::parse(out.str());
  }
  DumpTarget target_;
  Snapshot snapshot_;
};

TEST_F(DumpInterpretersTest, TextGroupsThreadsUnderTheirInterpreter) {
  const std::string text = Text();
  const std::string expected_order[] = {
      "3 interpreters, 2 GILs\n",
      "\nInterpreter 0 (main): GIL held by thread 20, 1 thread waiting, 7 hand-offs so far\n",
      "\nThread 10 \"MainThread\" (OS name \"python3\") [idle in futex]\n",
      "\nInterpreter 1 (own GIL): GIL held by thread 11, 1 thread waiting, 300 hand-offs so far\n",
      "\nThread 11 \"spin-1\" [holding GIL]\n",
      "\nThread 12 \"spin-2\" [waiting for GIL]\n",
      "\nInterpreter 2: shares the main interpreter's GIL\n",
      "\nThread 20 \"legacy-1\" [holding GIL]\n",
      "\nThread 21 \"legacy-2\" [waiting for GIL]\n",
      "\nThreads with no Python thread state:\n",
      "\nThread 30 \"helper\" [idle in futex] (no Python thread state)\n",
  };
  size_t at = 0;
  for (const std::string& part : expected_order) {
    const size_t found = text.find(part, at);
    ASSERT_NE(found, std::string::npos) << "missing, or out of order: " << part << "\nin:\n"
                                        << text;
    at = found + part.size();
  }
  EXPECT_EQ(text.find("GIL: "), std::string::npos) << text;
}

TEST_F(DumpInterpretersTest, AnInterpreterWithoutThreadsSaysSo) {
  snapshot_.interpreters.push_back({3, 0});
  EXPECT_NE(Text().find("\nInterpreter 3: shares the main interpreter's GIL\n    (no threads)\n"),
            std::string::npos)
      << Text();
}

TEST_F(DumpInterpretersTest, JsonListsInterpretersAndWhichGilEachUses) {
  const nlohmann::json json = Json();
  EXPECT_EQ(json["gil_enabled"], true);
  ASSERT_EQ(json["interpreters"].size(), 3u);
  EXPECT_EQ(
      json["interpreters"][0],
      nlohmann::json({{"id", 0}, {"gil_interpreter_id", 0}, {"own_gil", true}, {"threads", 1}}));
  EXPECT_EQ(
      json["interpreters"][1],
      nlohmann::json({{"id", 1}, {"gil_interpreter_id", 1}, {"own_gil", true}, {"threads", 2}}));
  EXPECT_EQ(
      json["interpreters"][2],
      nlohmann::json({{"id", 2}, {"gil_interpreter_id", 0}, {"own_gil", false}, {"threads", 2}}));
  ASSERT_EQ(json["gils"].size(), 2u);
  EXPECT_EQ(json["gils"][0]["interpreter_ids"], nlohmann::json({0, 2}));
  EXPECT_EQ(json["gils"][1]["interpreter_ids"], nlohmann::json({1}));
  EXPECT_EQ(json["gils"][1]["holder"], 11);
  EXPECT_EQ(json["threads"][3]["interpreter_id"], 2);
  EXPECT_TRUE(json["threads"][5]["interpreter_id"].is_null());  // the native thread
}

TEST_F(DumpNamesTest, OneInterpreterKeepsTheGilLineAndNoHeadings) {
  std::ostringstream out;
  snapshot_.interpreters = {{0, 0}};
  snapshot_.gils[0].locked = true;
  snapshot_.gils[0].holder_native_id = 10;
  WriteDumpText({target_, snapshot_}, out);
  EXPECT_NE(out.str().find("\nGIL: held by thread 10, 0 threads waiting\n"), std::string::npos)
      << out.str();
  EXPECT_EQ(out.str().find("Interpreter"), std::string::npos) << out.str();
}

TEST_F(DumpNamesTest, AGilThatIsOffIsSaidToBeDisabled) {
  snapshot_.gils[0].enabled = false;
  std::ostringstream text;
  WriteDumpText({target_, snapshot_}, text);
  EXPECT_NE(text.str().find("\nGIL: disabled (free-threaded build)\n"), std::string::npos)
      << text.str();
  std::ostringstream json;
  WriteDumpJson({target_, snapshot_}, json);
  EXPECT_EQ(nlohmann::json::parse(json.str())["gil_enabled"], false);
  EXPECT_EQ(nlohmann::json::parse(json.str())["gils"][0]["enabled"], false);
}

TEST_F(DumpNamesTest, NoGilLeftToReadIsNeitherOnNorOff) {
  snapshot_.gils.clear();
  std::ostringstream json;
  WriteDumpJson({target_, snapshot_}, json);
  EXPECT_TRUE(nlohmann::json::parse(json.str())["gil_enabled"].is_null());
}

}  // namespace
}  // namespace gilscope
