// Device discovery that compiles against any libtorch (CPU-only 1.13 or CUDA 2.x): CUDA details come
// from the driver API loaded at runtime (libcuda.so.1), so no CUDA headers are needed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loraflow {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  uint64_t total_memory = 0;  // bytes
  int cc_major = 0, cc_minor = 0;
};

bool cuda_available();                     // torch::cuda::is_available()
std::vector<CudaDeviceInfo> cuda_devices();  // empty when CUDA is unavailable
uint64_t host_memory_total();              // bytes
uint64_t host_memory_available();          // bytes (MemAvailable)
uint64_t process_peak_rss();               // bytes (VmHWM)
uint64_t process_rss();                    // bytes (VmRSS)
// Synchronizes the current CUDA device when CUDA is available (no-op otherwise).
void cuda_synchronize();

}  // namespace loraflow
