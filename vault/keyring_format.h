// The keyring file's layout, shared by Keyring and by what reads or forges raw keyring files
// (the keyring fuzz target and its seed generator).
//
//   file      = header (kHeaderBytes: kMagic, then zeros) | slot 0 | slot 1
//   slot      = u64 seq | bytes envelope | zeros, kSlotBytes in all; the envelope is the
//               plaintext sealed (kKeyring) under the root key, bound to SlotContext(seq).
//               The slot with the highest seq that opens wins.
//   plaintext = u64 format (1) | u64 current epoch | u64 next epoch | bytes index key |
//               bytes audit key | bytes meta key | bytes signing key | u64 n |
//               n x (u64 id | i64 created_at | i64 retired_at | u8 destroyed |
//                    i64 destroyed_at | bytes KEK, empty once destroyed)
// in the row codec (codec.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "crypto/aead.h"
#include "crypto/primitives.h"
#include "crypto/secret.h"
#include "vault/codec.h"

namespace vault::keyring_file {

inline constexpr char kMagic[8] = {'V', 'A', 'U', 'L', 'T', 'K', 'R', '1'};
inline constexpr std::size_t kHeaderBytes = 4096;
inline constexpr std::size_t kSlotBytes = std::size_t{256} * 1024;
inline constexpr std::size_t kFileBytes = kHeaderBytes + 2 * kSlotBytes;

inline std::vector<std::uint8_t> SlotContext(std::uint64_t seq) {
  RowWriter w;
  w.Str("vault-keyring-slot").U64(seq);
  return w.Take();
}

// The key id a slot's envelope names: which root key sealed it.
inline crypto::KeyId RootKeyId(const crypto::SecretBytes& root) {
  const auto d = crypto::HmacSha256(root, "vault root key id");
  crypto::KeyId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = d[i];
  return id;
}

// A slot's bytes (without the zero tail): seq | the plaintext sealed under root.
inline std::vector<std::uint8_t> SealSlot(const crypto::SecretBytes& root, std::uint64_t seq,
                                          std::span<const std::uint8_t> plaintext) {
  const auto env = crypto::Seal(crypto::EnvelopeKind::kKeyring, crypto::Aead::kXChaCha20Poly1305,
                                root, RootKeyId(root), plaintext, SlotContext(seq));
  RowWriter w;
  w.U64(seq).Bytes(env);
  return w.Take();
}

}  // namespace vault::keyring_file
