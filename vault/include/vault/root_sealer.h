// Root sealers: what seals the keyring (a raw root key, or a key in a PKCS#11 token that never
// leaves it), the providers that make them, and root key rotation.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "crypto/secret.h"
#include "vault/root_key.h"
#include "vault/status.h"

namespace vault {

// Seals and opens the keyring's serialized plaintext under the root key. Thread-safe.
class RootSealer {
 public:
  virtual ~RootSealer() = default;
  // plaintext sealed under the root key, bound to aad.
  virtual StatusOr<std::vector<std::uint8_t>> Seal(std::span<const std::uint8_t> plaintext,
                                                   std::span<const std::uint8_t> aad) const = 0;
  // kPermissionDenied when the envelope names another root key than this sealer holds;
  // kDataLoss when it does not authenticate; kUnavailable when the token cannot be used.
  virtual Status Open(std::span<const std::uint8_t> envelope, std::span<const std::uint8_t> aad,
                      crypto::SecretBytes* plaintext) const = 0;
};

// A root key provider that makes sealers and can rotate its key (the file, environment and
// PKCS#11 providers all are). Thread-safe.
class SealingRootKeyProvider : public RootKeyProvider {
 public:
  // What seals the keyring. While a rotation is unfinished it opens what the current or the
  // next root key sealed, and seals under the current one while that exists.
  virtual StatusOr<std::shared_ptr<const RootSealer>> Sealer() const = 0;
  // Rotation, step 1: makes the next root key (or finds the one an interrupted rotation made)
  // and returns its sealer.
  virtual StatusOr<std::shared_ptr<const RootSealer>> Next() const = 0;
  // Rotation, step 2, once the keyring is sealed under the next key: destroys the current
  // root key and makes the next one current. *what_happened: one line for the operator.
  virtual Status Retire(std::string* what_happened) const = 0;
};

// The sealer of any provider: its own if it makes sealers, else one over Load()'s key.
StatusOr<std::shared_ptr<const RootSealer>> SealerOf(const RootKeyProvider& provider);

// A sealer over a raw 256-bit key: the keyring file's format 1 (keyring_format.h).
std::shared_ptr<const RootSealer> RawRootSealer(crypto::SecretBytes key);
// RootKeyFromFile's and RootKeyFromEnv's providers are SealingRootKeyProviders. Their next
// key: FILE.next (made 0600 by Next; Retire renames it over FILE and overwrites the old key's
// bytes), or the variable VARIABLE_NEXT (set by the operator; afterwards the old value no
// longer opens the keyring).

// A rotation's two keys as one sealer: opens under either, seals under current (or under next
// when current is null: after Retire destroyed it, before the next key took its place).
std::shared_ptr<const RootSealer> RootSealerPair(std::shared_ptr<const RootSealer> current,
                                                 std::shared_ptr<const RootSealer> next);

// A non-extractable AES-256 key in a PKCS#11 token, from a spec
// "module=/usr/lib/softhsm/libsofthsm2.so;token=LABEL;key=LABEL;pin-file=FILE" (or
// pin-env=VARIABLE instead of pin-file; an inline pin= is refused). create_if_missing (init):
// a key is made when the token has none of that label. Rotation: the next key is labelled
// KEY.next, then the old object is destroyed (C_DestroyObject) and the next one relabelled.
StatusOr<std::shared_ptr<RootKeyProvider>> RootKeyFromPkcs11(const std::string& spec,
                                                             bool create_if_missing = false);

// Rotates the root key of the keyring in data_dir: the keyring (epoch KEKs, system keys)
// re-sealed under the provider's next key, then the old key destroyed. No DEK or record is
// re-encrypted. A crash at any point leaves a keyring that the old or the new key opens, and
// running it again finishes. Other processes holding the keyring must restart: their keyring
// writes are refused from then on. *what_happened: what the provider did with the old key.
Status RotateRootKey(const RootKeyProvider& provider, const std::string& data_dir,
                     std::string* what_happened);
// The same for a vault whose store is given (Options::store: "" for LMDB in data_dir). With
// the root key in a token and no keyring file in data_dir, the keyring is the token's: its
// store row (the system keys) is re-sealed; the epoch KEKs, token objects, stay as they are.
Status RotateRootKey(const RootKeyProvider& provider, const std::string& data_dir,
                     const std::string& store, std::string* what_happened);

}  // namespace vault
