#include <chrono>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "ops/register_all.h"
#include "protocol/errors.h"
#include "protocol/op_registry.h"
#include "protocol/server.h"

using namespace loraflow;
using nlohmann::json;

namespace {

// Reads NDJSON lines from an fd with a deadline.
class LineIn {
 public:
  explicit LineIn(int fd) : fd_(fd) {}
  // Returns false on timeout/EOF.
  bool next(std::string& line, int timeout_ms = 10000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return true;
      }
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) return false;
      char tmp[4096];
      ssize_t r = ::read(fd_, tmp, sizeof tmp);
      if (r <= 0) return false;
      buf_.append(tmp, static_cast<size_t>(r));
    }
  }
  json next_json(int timeout_ms = 10000) {
    std::string l;
    if (!next(l, timeout_ms)) throw std::runtime_error("no reply within timeout");
    return json::parse(l);
  }
  // Next message of type result/error for `id`, collecting the others.
  json final_for(const json& id, std::vector<json>* others = nullptr, int timeout_ms = 10000) {
    for (;;) {
      json m = next_json(timeout_ms);
      if (m["id"] == id && (m["type"] == "result" || m["type"] == "error")) return m;
      if (others) others->push_back(m);
    }
  }

 private:
  int fd_;
  std::string buf_;
};

void send_line(int fd, const std::string& s) {
  std::string l = s + "\n";
  ASSERT_EQ(::write(fd, l.data(), l.size()), static_cast<ssize_t>(l.size()));
}

// serve_loop on pipes, in a thread, with the system ops and a few failing test ops.
struct Loop {
  int to_engine[2], from_engine[2];
  OpRegistry reg;
  std::thread th;
  int rc = -1;
  LineIn in;
  Loop() : in((::pipe(to_engine), ::pipe(from_engine), from_engine[0])) {
    register_system_ops(reg);
    reg.add("throw_bad_alloc", [](const json&, OpContext&) -> json { throw std::bad_alloc(); });
    reg.add("throw_c10", [](const json&, OpContext&) -> json { return at::ones({2}).view({3}).sum().item<float>(); });
    reg.add("throw_engine", [](const json&, OpContext&) -> json { fail(errc::unsupported, "nope", "try later"); });
    reg.add("throw_json", [](const json& a, OpContext&) -> json { return a.at("missing").get<int>(); });
    reg.add("need_path", [](const json& a, OpContext&) -> json { return arg<std::string>(a, "path"); });
    reg.add("events", [](const json&, OpContext& ctx) -> json {
      ctx.log("info", "hello log");
      ctx.event({{"kind", "metrics"}, {"loss", 0.5}});
      return json{{"ok", true}};
    });
    ServeOptions opt;
    opt.shutdown_grace_ms = 5000;
    th = std::thread([this, opt] { rc = serve_loop(to_engine[0], from_engine[1], reg, opt); });
  }
  void send(const json& j) { send_line(to_engine[1], j.dump()); }
  void close_input() {
    if (to_engine[1] >= 0) ::close(to_engine[1]);
    to_engine[1] = -1;
  }
  int join() {
    th.join();
    return rc;
  }
  ~Loop() {
    close_input();
    if (th.joinable()) th.join();
    ::close(to_engine[0]);
    ::close(from_engine[0]);
    ::close(from_engine[1]);
  }
};

}  // namespace

TEST(Protocol, HelloDescribesTheEngine) {
  Loop l;
  l.send({{"id", 1}, {"op", "hello"}});
  json r = l.in.final_for(1);
  ASSERT_EQ(r["type"], "result") << r.dump();
  EXPECT_TRUE(r["result"]["engine_version"].is_string());
  EXPECT_TRUE(r["result"]["libtorch_version"].is_string());
  EXPECT_TRUE(r["result"]["cuda_available"].is_boolean());
  ASSERT_GE(r["result"]["devices"].size(), 1u);
  EXPECT_EQ(r["result"]["devices"][0]["type"], "cpu");
  EXPECT_GE(r["result"]["devices"][0]["threads"].get<int>(), 1);
  l.close_input();
  EXPECT_EQ(l.join(), 0);
}

TEST(Protocol, MalformedInputGetsErrorsAndTheEngineKeepsServing) {
  Loop l;
  send_line(l.to_engine[1], "{this is not json");
  json e = l.in.next_json();
  EXPECT_EQ(e["type"], "error");
  EXPECT_TRUE(e["id"].is_null());
  EXPECT_EQ(e["error"]["code"], "bad_request");
  send_line(l.to_engine[1], "[1,2]");
  EXPECT_EQ(l.in.next_json()["error"]["code"], "bad_request");
  send_line(l.to_engine[1], R"({"op":"hello"})");
  EXPECT_EQ(l.in.next_json()["error"]["code"], "bad_request");
  send_line(l.to_engine[1], R"({"id":{"x":1},"op":"hello"})");
  EXPECT_EQ(l.in.next_json()["error"]["code"], "bad_request");
  send_line(l.to_engine[1], R"({"id":"a","op":7})");
  EXPECT_EQ(l.in.next_json()["error"]["code"], "bad_request");
  send_line(l.to_engine[1], R"({"id":"b","op":"hello","args":[1]})");
  json b = l.in.next_json();
  EXPECT_EQ(b["id"], "b");
  EXPECT_EQ(b["error"]["code"], "bad_request");
  send_line(l.to_engine[1], "");
  send_line(l.to_engine[1], "   ");
  l.send({{"id", "u"}, {"op", "no_such_op"}});
  json u = l.in.next_json();
  EXPECT_EQ(u["id"], "u");
  EXPECT_EQ(u["error"]["code"], "unknown_op");
  EXPECT_NE(u["error"]["message"].get<std::string>().find("no_such_op"), std::string::npos);
  l.send({{"id", "h"}, {"op", "hello"}, {"args", nullptr}});
  EXPECT_EQ(l.in.final_for("h")["type"], "result");
}

TEST(Protocol, ExceptionsBecomeErrorReplies) {
  Loop l;
  l.send({{"id", 1}, {"op", "throw_bad_alloc"}});
  json a = l.in.final_for(1);
  EXPECT_EQ(a["error"]["code"], "oom");
  EXPECT_TRUE(a["error"]["hint"].is_string());
  l.send({{"id", 2}, {"op", "throw_c10"}});
  json b = l.in.final_for(2);
  EXPECT_EQ(b["error"]["code"], "internal");
  EXPECT_EQ(b["error"]["message"].get<std::string>().find("Exception raised from"), std::string::npos)
      << "no C++ backtrace in user-facing messages";
  l.send({{"id", 3}, {"op", "throw_engine"}});
  json c = l.in.final_for(3);
  EXPECT_EQ(c["error"]["code"], "unsupported");
  EXPECT_EQ(c["error"]["message"], "nope");
  EXPECT_EQ(c["error"]["hint"], "try later");
  l.send({{"id", 4}, {"op", "throw_json"}, {"args", json::object()}});
  EXPECT_EQ(l.in.final_for(4)["error"]["code"], "bad_request");
  l.send({{"id", 5}, {"op", "need_path"}, {"args", {{"path", 3}}}});
  json e = l.in.final_for(5);
  EXPECT_EQ(e["error"]["code"], "bad_request");
  EXPECT_NE(e["error"]["message"].get<std::string>().find("'path'"), std::string::npos);
  l.send({{"id", 6}, {"op", "hello"}});
  EXPECT_EQ(l.in.final_for(6)["type"], "result");
}

TEST(Protocol, LogsEventsAndThrottledProgress) {
  Loop l;
  l.send({{"id", "e"}, {"op", "events"}});
  std::vector<json> others;
  json r = l.in.final_for("e", &others);
  EXPECT_EQ(r["result"]["ok"], true);
  ASSERT_EQ(others.size(), 2u);
  EXPECT_EQ(others[0]["type"], "log");
  EXPECT_EQ(others[0]["level"], "info");
  EXPECT_EQ(others[0]["message"], "hello log");
  EXPECT_EQ(others[1]["type"], "event");
  EXPECT_EQ(others[1]["data"]["kind"], "metrics");

  others.clear();
  l.send({{"id", "s"}, {"op", "sleep"}, {"args", {{"ms", 400}}}});
  json s = l.in.final_for("s", &others);
  EXPECT_EQ(s["result"]["slept_ms"], 400);
  ASSERT_GE(others.size(), 2u);
  EXPECT_LE(others.size(), 400u / 50u + 3u) << "progress is throttled to <= 20/s";
  for (const auto& m : others) EXPECT_EQ(m["type"], "progress");
  EXPECT_EQ(others.back()["value"], 400.0) << "the final progress is always sent";
  EXPECT_EQ(others.back()["max"], 400.0);
}

TEST(Protocol, CancelRunningAndQueuedRequests) {
  Loop l;
  l.send({{"id", "long"}, {"op", "sleep"}, {"args", {{"ms", 60000}}}});
  l.send({{"id", "queued"}, {"op", "sleep"}, {"args", {{"ms", 60000}}}});
  l.send({{"id", "after"}, {"op", "hello"}});
  // wait until "long" is running (its first progress)
  json first = l.in.next_json();
  EXPECT_EQ(first["id"], "long");
  const auto t0 = std::chrono::steady_clock::now();
  l.send({{"id", "c1"}, {"op", "cancel"}, {"args", {{"id", "queued"}}}});
  l.send({{"id", "c2"}, {"op", "cancel"}, {"args", {{"id", "long"}}}});
  l.send({{"id", "c3"}, {"op", "cancel"}, {"args", {{"id", "nobody"}}}});
  std::map<std::string, json> finals;
  std::vector<std::string> order;
  while (finals.size() < 6) {
    json m = l.in.next_json();
    if (m["type"] == "result" || m["type"] == "error") {
      finals[m["id"].get<std::string>()] = m;
      order.push_back(m["id"]);
    }
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(finals["c1"]["result"]["cancelled"], true);
  EXPECT_EQ(finals["c2"]["result"]["cancelled"], true);
  EXPECT_EQ(finals["c3"]["result"]["cancelled"], false);
  EXPECT_EQ(finals["long"]["error"]["code"], "cancelled");
  EXPECT_EQ(finals["queued"]["error"]["code"], "cancelled");
  EXPECT_EQ(finals["after"]["type"], "result");
  // ops finish in arrival order
  auto pos = [&](const std::string& id) { return std::find(order.begin(), order.end(), id) - order.begin(); };
  EXPECT_LT(pos("long"), pos("queued"));
  EXPECT_LT(pos("queued"), pos("after"));
  l.send({{"id", "bad"}, {"op", "cancel"}});
  EXPECT_EQ(l.in.final_for("bad")["error"]["code"], "bad_request");
}

TEST(Protocol, ShutdownCancelsTheRunningOpAndExitsZero) {
  Loop l;
  l.send({{"id", "long"}, {"op", "sleep"}, {"args", {{"ms", 60000}}}});
  l.send({{"id", "q"}, {"op", "sleep"}, {"args", {{"ms", 60000}}}});
  EXPECT_EQ(l.in.next_json()["id"], "long");
  l.send({{"id", "bye"}, {"op", "shutdown"}});
  std::map<std::string, json> finals;
  while (finals.size() < 3) {
    json m = l.in.next_json();
    if (m["type"] == "result" || m["type"] == "error") finals[m["id"].get<std::string>()] = m;
  }
  EXPECT_EQ(finals["long"]["error"]["code"], "cancelled");
  EXPECT_EQ(finals["q"]["error"]["code"], "cancelled");
  EXPECT_EQ(finals["bye"]["type"], "result");
  EXPECT_EQ(l.join(), 0);
}

TEST(Protocol, DuplicateInFlightIdsAreRejected) {
  Loop l;
  l.send({{"id", 7}, {"op", "sleep"}, {"args", {{"ms", 300}}}});
  l.send({{"id", 7}, {"op", "hello"}});
  std::vector<json> all;
  json dup;
  for (;;) {
    json m = l.in.next_json();
    if (m["type"] == "error") {
      dup = m;
      break;
    }
  }
  EXPECT_EQ(dup["error"]["code"], "bad_request");
  EXPECT_EQ(l.in.final_for(7)["type"], "result");
}

// ---- the real binary: stdout carries protocol only ----

namespace {
struct Child {
  pid_t pid = -1;
  int in = -1, out = -1;
  explicit Child(const std::vector<std::string>& argv) {
    int a[2], b[2];
    if (::pipe(a) != 0 || ::pipe(b) != 0) throw std::runtime_error("pipe");
    pid = ::fork();
    if (pid == 0) {
      ::dup2(a[0], 0);
      ::dup2(b[1], 1);
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 2);
      ::close(a[1]);
      ::close(b[0]);
      std::vector<char*> args;
      for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(a[0]);
    ::close(b[1]);
    in = a[1];
    out = b[0];
  }
  int wait() {
    int st = 0;
    ::waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  ~Child() {
    if (in >= 0) ::close(in);
    if (out >= 0) ::close(out);
  }
};
}  // namespace

TEST(ProtocolBinary, StdoutCarriesProtocolOnly) {
  const std::string bin = loraflow::test::engine_binary();
  if (::access(bin.c_str(), X_OK) != 0) GTEST_SKIP() << bin << " not built";
  Child c({bin, "serve", "--threads", "1"});
  send_line(c.in, R"({"id":"n","op":"sleep","args":{"ms":50,"stdout_noise":true}})");
  send_line(c.in, R"({"id":"h","op":"hello"})");
  LineIn in(c.out);
  std::string line;
  int results = 0;
  bool sent_shutdown = false;
  while (in.next(line, 60000)) {
    json m;
    ASSERT_NO_THROW(m = json::parse(line)) << "non-protocol line on stdout: " << line;
    ASSERT_TRUE(m.contains("id") && m.contains("type")) << line;
    if (m["type"] == "result") ++results;
    if (m["id"] == "h" && m["type"] == "result") {
      EXPECT_EQ(m["result"]["devices"][0]["threads"], 1);
    }
    if (results == 2 && !sent_shutdown) {  // shutdown cancels queued requests, so send it last
      send_line(c.in, R"({"id":"x","op":"shutdown"})");
      sent_shutdown = true;
    }
  }
  EXPECT_EQ(results, 3);
  EXPECT_EQ(c.wait(), 0);
}

TEST(ProtocolBinary, EofExitsCleanly) {
  const std::string bin = loraflow::test::engine_binary();
  if (::access(bin.c_str(), X_OK) != 0) GTEST_SKIP() << bin << " not built";
  Child c({bin, "serve"});
  send_line(c.in, R"({"id":1,"op":"sleep","args":{"ms":60000}})");
  LineIn in(c.out);
  json first = in.next_json(20000);
  EXPECT_EQ(first["id"], 1);
  ::close(c.in);
  c.in = -1;
  json fin = in.final_for(1, nullptr, 20000);
  EXPECT_EQ(fin["error"]["code"], "cancelled");
  EXPECT_EQ(c.wait(), 0);
}
