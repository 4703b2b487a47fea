#include "core/common/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace granary {
namespace {

constexpr uint32_t kPolynomial = 0x82f63b78u;  // reflected Castagnoli

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

uint32_t Crc32cTable(const unsigned char* p, size_t n, uint32_t crc) {
  for (size_t i = 0; i < n; ++i) crc = kTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

// Shifting a CRC register over a stripe of zero bytes, i.e. multiplying it by
// x^(8 * stripe) modulo the polynomial: four tables, one per byte of the register.
// Lets three independent streams over adjacent stripes be joined (CRC is linear:
// crc(c, A B) = shift(crc(c, A), |B|) ^ crc(0, B)). Two stripe sizes: large buffers (block
// chunks) go in 2 KiB stripes, smaller ones (TFRecord records of a few KiB) in 256-byte
// stripes, so that a 4 KiB record is not one serial chain of crc32 instructions.
constexpr size_t kStripeBytes = 2048;
constexpr size_t kSmallStripeBytes = 256;

// a * b modulo the polynomial, both in the reflected representation (x^0 is the top bit).
constexpr uint32_t MultiplyModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if (a & m) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kPolynomial : b >> 1;
  }
  return product;
}

// x^(8 * bytes) modulo the polynomial.
constexpr uint32_t PowerOfXForBytes(size_t bytes) {
  uint32_t result = 1u << 31;  // x^0
  uint32_t square = 1u << 30;  // x^1, then x^2, x^4, ...
  for (size_t n = 8 * bytes; n != 0; n >>= 1) {
    if (n & 1) result = MultiplyModP(square, result);
    square = MultiplyModP(square, square);
  }
  return result;
}

struct ShiftTables {
  uint32_t table[4][256];

  uint32_t Shift(uint32_t crc) const {
    return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^
           table[3][crc >> 24];
  }
};

ShiftTables MakeShiftTables(size_t stripe_bytes) {
  ShiftTables out{};
  const uint32_t power = PowerOfXForBytes(stripe_bytes);
  for (uint32_t k = 0; k < 4; ++k) {
    for (uint32_t b = 0; b < 256; ++b) out.table[k][b] = MultiplyModP(b << (8 * k), power);
  }
  return out;
}

const ShiftTables kShift = MakeShiftTables(kStripeBytes);
const ShiftTables kSmallShift = MakeShiftTables(kSmallStripeBytes);

#if defined(__x86_64__)
// Three streams at once over adjacent stripes of `kStripe` bytes while at least three are
// left: the crc32 instruction takes 3 cycles but starts one per cycle.
template <size_t kStripe>
__attribute__((target("sse4.2"))) inline uint64_t Crc32cThreeWay(const unsigned char*& p, size_t& n,
                                                                 uint64_t c,
                                                                 const ShiftTables& shift) {
  while (n >= 3 * kStripe) {
    uint64_t c1 = 0;
    uint64_t c2 = 0;
    for (size_t i = 0; i < kStripe; i += 8) {
      uint64_t w0;
      uint64_t w1;
      uint64_t w2;
      std::memcpy(&w0, p + i, 8);
      std::memcpy(&w1, p + kStripe + i, 8);
      std::memcpy(&w2, p + 2 * kStripe + i, 8);
      c = _mm_crc32_u64(c, w0);
      c1 = _mm_crc32_u64(c1, w1);
      c2 = _mm_crc32_u64(c2, w2);
    }
    uint32_t joined = shift.Shift(static_cast<uint32_t>(c)) ^ static_cast<uint32_t>(c1);
    joined = shift.Shift(joined) ^ static_cast<uint32_t>(c2);
    c = joined;
    p += 3 * kStripe;
    n -= 3 * kStripe;
  }
  return c;
}

__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(const unsigned char* p, size_t n,
                                                          uint32_t crc) {
  uint64_t c = Crc32cThreeWay<kStripeBytes>(p, n, crc, kShift);
  c = Crc32cThreeWay<kSmallStripeBytes>(p, n, c, kSmallShift);
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, *p);
    ++p;
    --n;
  }
  return c32;
}

const bool kHaveHardware = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t Crc32c(std::string_view data, uint32_t crc) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  crc = ~crc;
#if defined(__x86_64__)
  if (kHaveHardware) return ~Crc32cHardware(p, data.size(), crc);
#endif
  return ~Crc32cTable(p, data.size(), crc);
}

}  // namespace granary
