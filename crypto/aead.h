// Authenticated envelopes: versioned header + AEAD (XChaCha20-Poly1305 or AES-256-GCM) via
// libsodium.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "crypto/secret.h"

namespace vault::crypto {

inline constexpr std::size_t kKeyBytes = 32;  // every symmetric key in Vault is 256-bit
inline constexpr std::size_t kKeyIdBytes = 16;
using KeyId = std::array<std::uint8_t, kKeyIdBytes>;

enum class Aead : std::uint8_t { kXChaCha20Poly1305 = 1, kAes256Gcm = 2 };

// What an envelope holds; part of the header and so of the authenticated data, so an
// envelope of one kind never opens as another.
enum class EnvelopeKind : std::uint8_t {
  kRecord = 'R',      // record plaintext under a DEK
  kWrappedKey = 'K',  // a DEK under an epoch KEK
  kKeyring = 'S',     // a keyring slot under the root key
  kSealed = 'X',      // small system data (reasons, ids) under a system key
};

// Envelope layout, version 1 (all fields authenticated):
//   'V' kind version alg | key_id (16) | nonce (24 or 12) | ciphertext | tag (16)
// The associated data is the header (first 20 bytes) followed by the caller's context,
// which binds the ciphertext to its place (subject, category, record, epoch...).
inline constexpr std::uint8_t kEnvelopeMagic = 'V';
inline constexpr std::uint8_t kEnvelopeVersion = 1;
inline constexpr std::size_t kEnvelopeHeaderBytes = 4 + kKeyIdBytes;

struct EnvelopeHeader {
  EnvelopeKind kind;
  std::uint8_t version;
  Aead alg;
  KeyId key_id;
};

bool AeadAvailable(Aead alg);  // AES-256-GCM needs AES-NI + CLMUL
std::size_t EnvelopeOverhead(Aead alg);

// Seals plaintext. REQUIRES: key.size() == kKeyBytes and AeadAvailable(alg).
std::vector<std::uint8_t> Seal(EnvelopeKind kind, Aead alg, const SecretBytes& key,
                               const KeyId& key_id, std::span<const std::uint8_t> plaintext,
                               std::span<const std::uint8_t> context);

// Parses the header without authenticating it; nullopt if it is not a well-formed envelope.
std::optional<EnvelopeHeader> PeekEnvelope(std::span<const std::uint8_t> envelope);

// Opens an envelope of the given kind; false on any failure (wrong key, wrong context,
// tampering, truncation). Nothing is written to *out on failure.
[[nodiscard]] bool Open(EnvelopeKind kind, const SecretBytes& key,
                        std::span<const std::uint8_t> envelope,
                        std::span<const std::uint8_t> context, std::vector<std::uint8_t>* out);
// Same, for secret plaintext (a wrapped key): *out is resized to the plaintext size.
[[nodiscard]] bool OpenSecret(EnvelopeKind kind, const SecretBytes& key,
                              std::span<const std::uint8_t> envelope,
                              std::span<const std::uint8_t> context, SecretBytes* out);

}  // namespace vault::crypto
