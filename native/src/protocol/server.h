// `loraflow-engine serve`: NDJSON protocol over stdin/stdout.
//
// Request:  {"id": string|integer, "op": string, "args": object?}
// Replies:  {"id", "type":"progress", "value", "max", "text"?}
//           {"id", "type":"log", "level", "message"}
//           {"id", "type":"event", "data": object}
//           {"id", "type":"result", "result": any}
//           {"id", "type":"error", "error": {"code", "message", "hint"?}}   (id null if unknown)
// A reader thread parses requests; ops run one at a time on a worker thread in arrival order.
// `cancel {id}` and `shutdown` are handled on the reader thread: cancel flips the target's flag
// (running or queued) and replies {cancelled: bool}; shutdown cancels everything, waits for the
// running op, replies {} and exits 0. EOF on stdin does the same without the reply.
#pragma once
#include <string>
#include <vector>

namespace loraflow {

class OpRegistry;

struct ServeOptions {
  std::string work_dir;            // --work-dir (created if missing); "" = current directory
  int threads = 0;                 // --threads: intra-op threads (0 = default 1)
  int shutdown_grace_ms = 10'000;  // how long shutdown/EOF waits for a running op to stop
};

// Runs the loop on the given file descriptors until shutdown or EOF. Returns the exit code.
// Does not touch process-wide state (testable with pipes).
int serve_loop(int in_fd, int out_fd, const OpRegistry& registry, const ServeOptions& opt);

// The `serve` command: parses args, keeps fd 1 for the protocol only (std::cout and anything
// else writing to fd 1 is redirected to stderr), configures threads, registers ops, runs the loop.
int serve_main(const std::vector<std::string>& args);

// Thread setup. threads > 0 (or $LORAFLOW_THREADS) sets the intra-op threads. With an OpenBLAS libtorch
// (Debian's) the default is 1 intra-op thread and 2 OpenBLAS threads (OPENBLAS_NUM_THREADS overrides);
// other builds keep libtorch's default. Safe to call more than once.
void configure_threads(int threads);

}  // namespace loraflow
