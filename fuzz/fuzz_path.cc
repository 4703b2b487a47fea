// libFuzzer target: ParsePath and ValidateName on arbitrary bytes (fuzz_check.h names the
// invariants checked). Input: the path itself.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  granary::fuzz::CheckPath(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
