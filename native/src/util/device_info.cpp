#include "util/device_info.h"

#include <fstream>
#include <sstream>

#include <dlfcn.h>
#include <unistd.h>

#include <torch/cuda.h>

namespace loraflow {

bool cuda_available() {
  try {
    return torch::cuda::is_available();
  } catch (...) {
    return false;
  }
}

std::vector<CudaDeviceInfo> cuda_devices() {
  std::vector<CudaDeviceInfo> out;
  if (!cuda_available()) return out;
  const int n = static_cast<int>(torch::cuda::device_count());
  void* lib = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  using InitFn = int (*)(unsigned);
  using GetFn = int (*)(int*, int);
  using NameFn = int (*)(char*, int, int);
  using MemFn = int (*)(size_t*, int);
  using AttrFn = int (*)(int*, int, int);
  InitFn init = lib ? reinterpret_cast<InitFn>(::dlsym(lib, "cuInit")) : nullptr;
  GetFn get = lib ? reinterpret_cast<GetFn>(::dlsym(lib, "cuDeviceGet")) : nullptr;
  NameFn name = lib ? reinterpret_cast<NameFn>(::dlsym(lib, "cuDeviceGetName")) : nullptr;
  MemFn mem = lib ? reinterpret_cast<MemFn>(::dlsym(lib, "cuDeviceTotalMem_v2")) : nullptr;
  AttrFn attr = lib ? reinterpret_cast<AttrFn>(::dlsym(lib, "cuDeviceGetAttribute")) : nullptr;
  const bool ok = init && get && init(0) == 0;
  for (int i = 0; i < n; ++i) {
    CudaDeviceInfo d;
    d.index = i;
    d.name = "cuda:" + std::to_string(i);
    int dev = 0;
    if (ok && get(&dev, i) == 0) {
      char buf[256] = {0};
      if (name && name(buf, sizeof buf - 1, dev) == 0) d.name = buf;
      size_t bytes = 0;
      if (mem && mem(&bytes, dev) == 0) d.total_memory = bytes;
      // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, MINOR = 76
      if (attr) {
        attr(&d.cc_major, 75, dev);
        attr(&d.cc_minor, 76, dev);
      }
    }
    out.push_back(d);
  }
  // libcuda stays loaded (torch holds it too); never dlclose a driver.
  return out;
}

namespace {
uint64_t proc_kb(const char* file, const char* key) {
  std::ifstream f(file);
  std::string line;
  const std::string k = key;
  while (std::getline(f, line)) {
    if (line.compare(0, k.size(), k) == 0) {
      std::istringstream is(line.substr(k.size()));
      uint64_t v = 0;
      is >> v;
      return v * 1024;
    }
  }
  return 0;
}
}  // namespace

uint64_t host_memory_total() { return proc_kb("/proc/meminfo", "MemTotal:"); }
uint64_t host_memory_available() { return proc_kb("/proc/meminfo", "MemAvailable:"); }
uint64_t process_peak_rss() { return proc_kb("/proc/self/status", "VmHWM:"); }
uint64_t process_rss() { return proc_kb("/proc/self/status", "VmRSS:"); }

void cuda_synchronize() {
  if (!cuda_available()) return;
  torch::cuda::synchronize();
}

}  // namespace loraflow
