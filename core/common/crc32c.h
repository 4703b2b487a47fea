// CRC32C (Castagnoli), the checksum of every block chunk (DESIGN.md §6).
// Uses the CPU's crc32 instruction (SSE 4.2) when present, a table otherwise; both give the
// same values.
#pragma once

#include <cstdint>
#include <string_view>

namespace granary {

// Extends `crc` (0 to start) over `data`.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

// TFRecord's masked form of a CRC32C.
constexpr uint32_t MaskCrc32c(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace granary
