#!/usr/bin/env bash
# Builds the engine against the libtorch inside the installed PyTorch (CUDA), runs its tests and a few
# benchmarks, writes full logs to LOG_DIR and prints a short table last.
#
# Usage (from anywhere):  native/scripts/cuda-check.sh LOG_DIR
# Environment: BUILD_DIR (default build-cuda, relative to the repo root), JOBS (default: nproc),
#              CUDA_ARCH (default 90), SKIP_TESTS=1, SKIP_BENCH=1, PYTHON (default python3).
# Needs: python3 with torch (CUDA build), nvcc, cmake, ninja, a C++17 compiler, nlohmann-json headers;
# googletest is optional (without it ctest has no tests to run). No network, no Node.js.
set -euo pipefail

LOG_DIR=${1:?usage: cuda-check.sh LOG_DIR}
mkdir -p "$LOG_DIR"
LOG_DIR=$(cd "$LOG_DIR" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3}
BUILD_DIR=${BUILD_DIR:-build-cuda}
JOBS=${JOBS:-$(nproc)}
CUDA_ARCH=${CUDA_ARCH:-90}
SUMMARY="$LOG_DIR/summary.txt"
: > "$SUMMARY"

note() { echo "[cuda-check] $*" | tee -a "$SUMMARY"; }
step() {  # step NAME LOGFILE CMD...: runs CMD with output to LOGFILE, records PASS/FAIL and the time
  local name=$1 log=$2; shift 2
  local t0=$SECONDS rc=0
  "$@" > "$log" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then note "PASS  $name ($((SECONDS - t0)) s)"; else note "FAIL  $name (exit $rc, $((SECONDS - t0)) s; see $log)"; fi
  return "$rc"
}

# ---- environment ----
{
  echo "date: $(date -u +%FT%TZ)"; echo "host: $(hostname)"; echo "repo: $ROOT"
  git -C "$ROOT" log -1 --oneline 2>/dev/null || true
  nvidia-smi 2>&1 || echo "nvidia-smi unavailable"
  nvcc --version 2>&1 || echo "nvcc unavailable"
  cmake --version | head -1; ninja --version; ${CXX:-c++} --version | head -1
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available()); print("device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-"); print("cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI)'
} > "$LOG_DIR/env.txt" 2>&1 || true

TORCH_PREFIX=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')
CXX11_ABI=$("$PYTHON" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
note "torch cmake prefix: $TORCH_PREFIX (C++11 ABI $CXX11_ABI)"
if ! echo '#include <nlohmann/json.hpp>' | ${CXX:-c++} -std=c++17 -fsyntax-only -x c++ - 2>/dev/null; then
  note "WARNING: nlohmann/json.hpp not found on the include path; configure will fail (install nlohmann-json3-dev or add its prefix to CMAKE_PREFIX_PATH)"
fi

# ---- build ----
# Every object must use the same libstdc++ ABI as PyTorch's libtorch: TorchConfig adds
# -D_GLIBCXX_USE_CXX11_ABI=<torch's> to targets linking torch; we also pass it globally so that anything
# else (tests, helpers) matches.
step configure "$LOG_DIR/configure.log" \
  cmake -S native -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCH" \
    -DCMAKE_CXX_FLAGS="-D_GLIBCXX_USE_CXX11_ABI=$CXX11_ABI"
step build "$LOG_DIR/build.log" cmake --build "$BUILD_DIR" -j "$JOBS"
ENGINE="$ROOT/$BUILD_DIR/loraflow-engine"
"$ENGINE" version | tee -a "$SUMMARY"

# ---- tests (the tests choose CUDA when it is available) ----
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  step ctest "$LOG_DIR/ctest.log" ctest --test-dir "$BUILD_DIR" --output-on-failure -j 4 --timeout 1800 || true
  grep -E "tests passed|tests failed|Total Test time" "$LOG_DIR/ctest.log" | tee -a "$SUMMARY" || true
fi

# ---- hello through the protocol ----
printf '%s\n' '{"id":1,"op":"hello"}' '{"id":2,"op":"shutdown"}' | "$ENGINE" serve > "$LOG_DIR/hello.ndjson" 2> "$LOG_DIR/hello.stderr" || true
head -c 2000 "$LOG_DIR/hello.ndjson" >> "$SUMMARY"; echo >> "$SUMMARY"

# ---- benchmarks: one JSON line each in bench.jsonl, human output in bench-*.log ----
BENCH_JSON="$LOG_DIR/bench.jsonl"
: > "$BENCH_JSON"
bench() {  # bench NAME ARGS...
  local name=$1; shift
  if "$ENGINE" bench "$@" --json > "$LOG_DIR/bench-$name.out" 2> "$LOG_DIR/bench-$name.log"; then
    tail -n 1 "$LOG_DIR/bench-$name.out" >> "$BENCH_JSON"
  else
    note "FAIL  bench $name (see $LOG_DIR/bench-$name.log)"
  fi
}
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  bench matmul-bf16 --op matmul --device cuda --dtype bf16 --n 8192 --iters 20 --warmup 5
  bench conv-bf16 --op conv --device cuda --dtype bf16 --res 512 --batch 8 --iters 20 --warmup 5
  for op in unet-forward vae-encode vae-decode train-step; do
    for b in 1 8; do
      bench "$op-b$b-bf16" --arch sd1 --size full --op "$op" --res 512 --batch "$b" --device cuda --dtype bf16 --iters 10 --warmup 3
    done
  done
  bench unet-forward-b8-fp16 --arch sd1 --size full --op unet-forward --res 512 --batch 8 --device cuda --dtype fp16 --iters 10 --warmup 3
  bench unet-forward-b1-cpu --arch sd1 --size full --op unet-forward --res 512 --batch 1 --device cpu --dtype fp32 --iters 2 --warmup 1
fi

# ---- table (last) ----
{
  echo
  echo "== benchmark table ($(wc -l < "$BENCH_JSON") runs; full logs in $LOG_DIR) =="
  "$PYTHON" - "$BENCH_JSON" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'op':<14}{'dev':<6}{'dtype':<6}{'res':>5}{'batch':>6}{'ms/iter':>11}{'GMAC':>10}{'TFLOP/s':>10}{'peak':>9}{'ratio':>8}")
for r in rows:
    print(f"{r['op']:<14}{r['device']:<6}{r['dtype']:<6}{r['res']:>5}{r['batch']:>6}{r['ms_per_iter']:>11.2f}"
          f"{r['gmac_per_iter']:>10.1f}{r['tflops']:>10.2f}{r['peak_tflops']:>9.1f}{100*r['ratio']:>7.1f}%")
PY
} | tee -a "$SUMMARY"
