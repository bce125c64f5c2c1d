#pragma once
namespace loraflow {
inline constexpr const char* kEngineVersion = "0.1.0";
}
