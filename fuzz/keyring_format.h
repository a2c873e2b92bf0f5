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
// These constants mirror vault/keyring.cc; if they drift, the seeds stop opening and the
// replay test's "opened" count (printed) drops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/primitives.h"
#include "crypto/secret.h"
#include "vault/codec.h"

namespace vault::fuzz::keyring_format {

inline constexpr std::size_t kHeaderBytes = 4096;
inline constexpr std::size_t kSlotBytes = std::size_t{256} * 1024;
inline constexpr std::size_t kFileBytes = kHeaderBytes + 2 * kSlotBytes;
inline constexpr std::size_t kMagicBytes = 8;
inline constexpr std::uint8_t kSealPlaintext = 1;
inline constexpr std::uint8_t kTruncate = 2;
inline constexpr std::uint8_t kRotate = 16;

inline crypto::KeyId RootKeyId(const crypto::SecretBytes& root) {
  const auto d = crypto::HmacSha256(root, "vault root key id");
  crypto::KeyId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = d[i];
  return id;
}

inline std::vector<std::uint8_t> SlotContext(std::uint64_t seq) {
  RowWriter w;
  w.Str("vault-keyring-slot").U64(seq);
  return w.Take();
}

// A slot as keyring.cc writes it: seq (u64) | length-prefixed envelope.
inline std::vector<std::uint8_t> SealSlot(const crypto::SecretBytes& root, std::uint64_t seq,
                                          std::span<const std::uint8_t> plaintext) {
  const auto env = crypto::Seal(crypto::EnvelopeKind::kKeyring, crypto::Aead::kXChaCha20Poly1305,
                                root, RootKeyId(root), plaintext, SlotContext(seq));
  RowWriter w;
  w.U64(seq).Bytes(env);
  return w.Take();
}

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
