#include "protocol/server.h"

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <csignal>
#include <dlfcn.h>
#include <unistd.h>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "ops/register_all.h"
#include "protocol/errors.h"
#include "protocol/op_context.h"
#include "protocol/op_registry.h"

namespace loraflow {

using nlohmann::json;

namespace {

// Serialized, line-flushed writer of protocol messages.
class Writer {
 public:
  explicit Writer(int fd) : fd_(fd) {}
  void send(const json& msg) {
    std::string line = msg.dump(-1, ' ', false, json::error_handler_t::replace);
    line.push_back('\n');
    std::lock_guard<std::mutex> lk(mu_);
    const char* p = line.data();
    size_t n = line.size();
    while (n > 0 && !broken_) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        broken_ = true;  // the client went away; keep running so we exit through EOF
        break;
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  }

 private:
  int fd_;
  std::mutex mu_;
  bool broken_ = false;
};

json error_msg(const json& id, const std::string& code, const std::string& message, const std::string& hint = "") {
  json e = {{"code", code}, {"message", message}};
  if (!hint.empty()) e["hint"] = hint;
  return {{"id", id}, {"type", "error"}, {"error", e}};
}

struct Job {
  json id;
  std::string op;
  json args;
  std::shared_ptr<std::atomic<bool>> flag;
};

// Reads lines from an fd (no stdio buffering shared with anything else).
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  bool next(std::string& line) {
    for (;;) {
      auto nl = buf_.find('\n', scan_);
      if (nl != std::string::npos) {
        line.assign(buf_, 0, nl);
        buf_.erase(0, nl + 1);
        scan_ = 0;
        return true;
      }
      scan_ = buf_.size();
      char tmp[65536];
      ssize_t r = ::read(fd_, tmp, sizeof tmp);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        if (buf_.empty()) return false;
        line.swap(buf_);
        buf_.clear();
        scan_ = 0;
        return true;
      }
      buf_.append(tmp, static_cast<size_t>(r));
    }
  }

 private:
  int fd_;
  std::string buf_;
  size_t scan_ = 0;
};

}  // namespace

int serve_loop(int in_fd, int out_fd, const OpRegistry& registry, const ServeOptions& opt) {
  Writer out(out_fd);
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job> queue;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> active;  // id.dump() -> flag (queued or running)
  bool stopping = false;
  bool worker_idle = true;

  std::thread worker([&] {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping and drained
        job = std::move(queue.front());
        queue.pop_front();
        worker_idle = false;
      }
      json reply;
      if (job.flag->load()) {
        reply = error_msg(job.id, errc::cancelled, "cancelled before it started");
      } else {
        OpContext ctx(job.id, [&out](const json& m) { out.send(m); }, job.flag, opt.work_dir);
        try {
          json result = registry.call(job.op, job.args, ctx);
          reply = {{"id", job.id}, {"type", "result"}, {"result", std::move(result)}};
        } catch (...) {
          ErrorInfo e = describe_current_exception();
          reply = error_msg(job.id, e.code, e.message, e.hint);
        }
      }
      {
        std::lock_guard<std::mutex> lk(mu);
        active.erase(job.id.dump());
        // The reply is sent under the lock so that a later request reusing the id cannot interleave.
        out.send(reply);
        worker_idle = true;
      }
      cv.notify_all();
    }
  });

  // Cancels everything and waits (bounded) for the worker to finish.
  auto stop_all = [&]() -> bool {
    std::deque<Job> dropped;
    {
      std::lock_guard<std::mutex> lk(mu);
      stopping = true;
      for (auto& [k, f] : active) f->store(true);
      dropped.swap(queue);
      for (auto& j : dropped) active.erase(j.id.dump());
    }
    cv.notify_all();
    for (auto& j : dropped) out.send(error_msg(j.id, errc::cancelled, "cancelled: the engine is shutting down"));
    std::unique_lock<std::mutex> lk(mu);
    bool ok = cv.wait_for(lk, std::chrono::milliseconds(opt.shutdown_grace_ms), [&] { return worker_idle; });
    return ok;
  };

  LineReader reader(in_fd);
  std::string line;
  json shutdown_id;
  bool got_shutdown = false;
  while (reader.next(line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json req;
    try {
      req = json::parse(line);
    } catch (const json::exception& e) {
      out.send(error_msg(nullptr, errc::bad_request, std::string("malformed JSON line: ") + e.what()));
      continue;
    }
    json id = nullptr;
    if (req.is_object() && req.contains("id")) id = req["id"];
    if (!req.is_object()) {
      out.send(error_msg(nullptr, errc::bad_request, "request is not a JSON object"));
      continue;
    }
    if (!(id.is_string() || id.is_number_integer())) {
      out.send(error_msg(id.is_null() ? json(nullptr) : id, errc::bad_request, "request 'id' must be a string or an integer"));
      continue;
    }
    auto op_it = req.find("op");
    if (op_it == req.end() || !op_it->is_string()) {
      out.send(error_msg(id, errc::bad_request, "request 'op' must be a string"));
      continue;
    }
    std::string op = *op_it;
    json args = req.value("args", json::object());
    if (args.is_null()) args = json::object();
    if (!args.is_object()) {
      out.send(error_msg(id, errc::bad_request, "request 'args' must be an object"));
      continue;
    }

    if (op == "cancel") {
      if (!args.contains("id") || !(args["id"].is_string() || args["id"].is_number_integer())) {
        out.send(error_msg(id, errc::bad_request, "cancel needs args.id (the id of the request to cancel)"));
        continue;
      }
      bool found = false;
      {
        std::lock_guard<std::mutex> lk(mu);
        auto it = active.find(args["id"].dump());
        if (it != active.end()) {
          it->second->store(true);
          found = true;
        }
      }
      out.send({{"id", id}, {"type", "result"}, {"result", {{"cancelled", found}}}});
      continue;
    }
    if (op == "shutdown") {
      shutdown_id = id;
      got_shutdown = true;
      break;
    }
    if (!registry.has(op)) {
      out.send(error_msg(id, errc::unknown_op, "unknown op '" + op + "'"));
      continue;
    }
    {
      std::lock_guard<std::mutex> lk(mu);
      auto key = id.dump();
      if (active.count(key)) {
        out.send(error_msg(id, errc::bad_request, "request id " + key + " is already in use"));
        continue;
      }
      auto flag = std::make_shared<std::atomic<bool>>(false);
      active[key] = flag;
      queue.push_back({id, op, std::move(args), flag});
    }
    cv.notify_all();
  }

  bool clean = stop_all();
  if (clean) {
    worker.join();
  } else {
    std::cerr << "[warn] the running op did not stop within " << opt.shutdown_grace_ms << " ms; exiting anyway"
              << std::endl;
    worker.detach();
  }
  if (got_shutdown) out.send({{"id", shutdown_id}, {"type", "result"}, {"result", json::object()}});
  if (!clean) {
    std::fflush(nullptr);
    std::_Exit(0);  // a detached worker may still be inside an op; skip static destructors
  }
  return 0;
}

void configure_threads(int threads) {
  // Debian's libtorch does its matmuls in OpenBLAS (pthreads) and the rest with OpenMP. Measured on the
  // 2-core CI machine: 1 intra-op thread + 2 OpenBLAS threads is best for matmul (the two pools fight
  // otherwise; conv, which runs in oneDNN/OpenMP, gains ~10% from 2). OpenBLAS reads OPENBLAS_NUM_THREADS when it is
  // loaded (before main), so it is also set through openblas_set_num_threads. A libtorch without
  // OpenBLAS (PyTorch's own, MKL/oneDNN) keeps its default thread count unless --threads is given.
  using SetFn = void (*)(int);
  auto set_blas = reinterpret_cast<SetFn>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (const char* env = std::getenv("LORAFLOW_THREADS"); threads <= 0 && env && std::atoi(env) > 0) threads = std::atoi(env);
  if (set_blas) {
    const char* env = std::getenv("OPENBLAS_NUM_THREADS");
    int blas = env && std::atoi(env) > 0 ? std::atoi(env) : 2;
    if (!env) ::setenv("OPENBLAS_NUM_THREADS", "2", 0);
    set_blas(blas);
    at::set_num_threads(threads > 0 ? threads : 1);
  } else if (threads > 0) {
    at::set_num_threads(threads);
  }
}

int serve_main(const std::vector<std::string>& args) {
  ServeOptions opt;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= args.size()) {
        std::cerr << "serve: " << name << " needs a value\n";
        std::exit(2);
      }
      return args[++i];
    };
    if (a == "--work-dir") opt.work_dir = value("--work-dir");
    else if (a == "--threads") opt.threads = std::atoi(value("--threads").c_str());
    else {
      std::cerr << "serve: unknown option " << a << "\nusage: loraflow-engine serve [--work-dir DIR] [--threads N]\n";
      return 2;
    }
  }
  if (!opt.work_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(opt.work_dir, ec);
    if (ec) {
      std::cerr << "serve: cannot create work dir " << opt.work_dir << ": " << ec.message() << "\n";
      return 2;
    }
    opt.work_dir = std::filesystem::absolute(opt.work_dir).string();
  }
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client must not kill us mid-write
  // Keep the real stdout for the protocol only; everything else that writes to fd 1 goes to stderr.
  std::fflush(stdout);
  std::cout.flush();
  int proto_fd = ::dup(1);
  if (proto_fd < 0 || ::dup2(2, 1) < 0) {
    std::cerr << "serve: cannot set up stdout: " << std::strerror(errno) << "\n";
    return 1;
  }
  std::cout.rdbuf(std::cerr.rdbuf());
  configure_threads(opt.threads);
  OpRegistry registry;
  register_all_ops(registry);
  return serve_loop(0, proto_fd, registry, opt);
}

}  // namespace loraflow
