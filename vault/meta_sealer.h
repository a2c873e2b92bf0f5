// Meta sealing: small secrets of the engine's own (hold and erasure reasons, token names,
// subject-independent markers) sealed under the keyring's meta key, bound to what they are.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secret.h"

namespace vault {

class MetaSealer {
 public:
  explicit MetaSealer(const crypto::SecretBytes& meta_key) : key_(meta_key) {}

  // Seals plaintext as a `what` (e.g. "hold") belonging to `context` (e.g. its row key).
  std::vector<std::uint8_t> Seal(std::string_view what, std::string_view context,
                                 std::string_view plaintext) const;
  // The plaintext, or "" when the envelope does not open as that what and context.
  std::string Open(std::string_view what, std::string_view context,
                   std::span<const std::uint8_t> sealed) const;

 private:
  const crypto::SecretBytes& key_;
};

}  // namespace vault
