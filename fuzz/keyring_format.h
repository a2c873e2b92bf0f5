// The keyring fuzz target's compact input encoding, shared with the seed generator.
//
// A keyring file is 4 KiB of header plus two 256 KiB slots, mostly zeros; checking such
// files in as seeds would cost half a megabyte each. The fuzz input instead carries only
// the bytes that matter, and the target expands them into a full-size file:
//
//   flags (1) | header (8: the magic) | len0 (u16 LE) | slot 0 (len0 bytes) | slot 1 (rest)
//
// flags bit 0: slot 0 holds a keyring *plaintext* which the target seals under the fixed
//              root key as a valid slot (sequence number 1 + bits 2-3), so the layout
//              parser behind the AEAD is fuzzed too; otherwise slot 0 is raw bytes.
// flags bit 1: the file ends right after slot 1's bytes (a truncated keyring).
// flags bit 4: after opening, rotate the epoch (rewrites the file) and reopen.
// The file's own layout (sizes, slot sealing) is the engine's, vault/keyring_format.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "vault/keyring_format.h"

namespace vault::fuzz::keyring_format {

using keyring_file::kFileBytes;
using keyring_file::kHeaderBytes;
using keyring_file::kSlotBytes;
using keyring_file::SealSlot;
using keyring_file::SlotContext;
inline constexpr std::size_t kMagicBytes = sizeof keyring_file::kMagic;
inline constexpr std::uint8_t kSealPlaintext = 1;
inline constexpr std::uint8_t kTruncate = 2;
inline constexpr std::uint8_t kRotate = 16;

inline std::string Encode(std::uint8_t flags, std::span<const std::uint8_t> header,
                          std::span<const std::uint8_t> slot0,
                          std::span<const std::uint8_t> slot1) {
  std::string out(1, static_cast<char>(flags));
  for (std::size_t i = 0; i < kMagicBytes; ++i) {
    out.push_back(i < header.size() ? static_cast<char>(header[i]) : '\0');
  }
  out.push_back(static_cast<char>(slot0.size() & 0xff));
  out.push_back(static_cast<char>(slot0.size() >> 8));
  out.append(slot0.begin(), slot0.end());
  out.append(slot1.begin(), slot1.end());
  return out;
}

}  // namespace vault::fuzz::keyring_format
