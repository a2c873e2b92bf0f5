// Test helper: counts what the key slot file (vault/keyslots.h) of a data directory holds.
#pragma once

#include <string>

#include "test_util.h"
#include "vault/keyslots.h"

namespace vault::testing {

// Slots of the key slot file below data_dir holding anything but zeros.
inline std::size_t NonZeroKeySlots(const std::string& data_dir) {
  const std::string bytes = ReadFile(data_dir + "/keyslots");
  std::size_t n = 0;
  for (std::size_t at = 0; at + kSlotBytes <= bytes.size(); at += kSlotBytes) {
    if (bytes.find_first_not_of('\0', at) < at + kSlotBytes) ++n;
  }
  return n;
}

}  // namespace vault::testing
