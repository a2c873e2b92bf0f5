// Keyring: epoch KEKs and system keys, sealed under the root key (a RootSealer) in a small file
// that is rewritten in place (two slots, each fsynced) so destroyed keys do not linger in old
// copies.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/primitives.h"
#include "crypto/secret.h"
#include "vault/clock.h"
#include "vault/root_sealer.h"
#include "vault/status.h"
#include "vault/thread_annotations.h"

namespace vault {

struct EpochInfo {
  std::uint64_t id = 0;
  UnixSeconds created_at = 0;
  UnixSeconds retired_at = 0;  // 0 while current
  bool destroyed = false;
  UnixSeconds destroyed_at = 0;
};

// Thread-safe: readers (wrap/unwrap) share a lock; mutations take it exclusively and
// persist the file before returning. With the root key in a PKCS#11 token the epoch KEKs are
// token objects instead (TokenKeyring, keyring_token.h, overrides the epoch methods).
class Keyring {
 public:
  virtual ~Keyring() = default;
  // Creates a new keyring file with a first epoch and fresh system keys. Fails if it exists.
  static StatusOr<std::unique_ptr<Keyring>> Create(const std::string& path,
                                                   crypto::SecretBytes root_key, UnixSeconds now);
  static StatusOr<std::unique_ptr<Keyring>> Open(const std::string& path,
                                                 crypto::SecretBytes root_key);
  // The same, sealed by a RootSealer (a key in a token, or a rotation's pair of keys).
  static StatusOr<std::unique_ptr<Keyring>> Create(const std::string& path,
                                                   std::shared_ptr<const RootSealer> sealer,
                                                   UnixSeconds now);
  static StatusOr<std::unique_ptr<Keyring>> Open(const std::string& path,
                                                 std::shared_ptr<const RootSealer> sealer);
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  // Re-reads the file if another process changed it (its sequence number moved).
  virtual Status Reload();
  virtual std::uint64_t seq() const;
  virtual std::uint64_t current_epoch() const;
  virtual std::vector<EpochInfo> Epochs() const;

  // Wraps a DEK under the current epoch KEK; returns the envelope and sets *epoch. Empty
  // when the KEK cannot be used (a token that is unavailable).
  virtual std::vector<std::uint8_t> WrapDek(const crypto::SecretBytes& dek,
                                            const crypto::KeyId& key_id,
                                            std::uint64_t* epoch) const;
  // Unwraps a DEK wrapped under the given epoch. kDataLoss if that epoch is destroyed or the
  // envelope does not authenticate.
  virtual Status UnwrapDek(std::span<const std::uint8_t> wrapped, std::uint64_t epoch,
                           crypto::SecretBytes* dek) const;
  static std::vector<std::uint8_t> DekWrapContext(std::uint64_t epoch);

  // Makes a new epoch current (the old one is retired now) and persists. Returns its id.
  virtual StatusOr<std::uint64_t> StartEpoch(UnixSeconds now);
  // Destroys the KEKs of the given (retired) epochs and persists; the file keeps only
  // their ids and destruction times.
  virtual Status DestroyEpochs(const std::vector<std::uint64_t>& ids, UnixSeconds now);
  // Root key rotation: rewrites both slots sealed under next (the state unchanged, its
  // sequence number moved), then seals under next from now on. between_slots (tests) runs
  // after the first slot is synced. A crash leaves one slot under each key: either opens.
  virtual Status Reseal(std::shared_ptr<const RootSealer> next,
                        const std::function<void()>& between_slots = {});
  // How long an unwrapped DEK may stay in memory after its envelope was last read (a DEK
  // cache); 0 for the file keyring, which keeps none.
  virtual std::chrono::seconds dek_cache_ttl() const { return std::chrono::seconds(0); }

  // System keys (fixed for the life of the store).
  // System keys never change after the keyring is first read (a reload that finds others
  // fails), so these references stay valid, and usable without the lock, for its lifetime.
  const crypto::SecretBytes& index_key() const { return index_key_; }
  const crypto::SecretBytes& audit_key() const { return audit_key_; }
  const crypto::HmacSha256Key& index_mac() const { return index_mac_; }
  const crypto::HmacSha256Key& audit_mac() const { return audit_mac_; }
  const crypto::SecretBytes& meta_key() const { return meta_key_; }
  const crypto::SecretBytes& signing_key() const { return signing_key_; }

 protected:
  Keyring(std::string path, std::shared_ptr<const RootSealer> sealer);
  // For a keyring kept elsewhere (TokenKeyring): fresh system keys, or the ones it stored.
  void GenerateSystemKeys();
  Status SetSystemKeys(std::span<const std::uint8_t> ik, std::span<const std::uint8_t> ak,
                       std::span<const std::uint8_t> mk, std::span<const std::uint8_t> sk);

 private:
  // Every KEK the keyring still holds (testing.h: what a forensic test attacks with).
  friend std::map<std::uint64_t, crypto::SecretBytes> TEST_LiveKeks(const Keyring& keyring);

  Status WriteLocked() REQUIRES(mu_) { return WriteWith(*sealer_, {}); }
  Status WriteWith(const RootSealer& sealer, const std::function<void()>& between_slots)
      REQUIRES(mu_);
  crypto::SecretBytes Serialize(std::size_t* len) const REQUIRES(mu_);
  Status ReadFile() REQUIRES(mu_);
  Status ReadNewestSlot(std::uint64_t* best_seq, crypto::SecretBytes* best) const REQUIRES(mu_);
  Status Adopt(std::uint64_t seq, const crypto::SecretBytes& plain) REQUIRES(mu_);
  Status AdoptSystemKeys(std::span<const std::uint8_t> ik, std::span<const std::uint8_t> ak,
                         std::span<const std::uint8_t> mk, std::span<const std::uint8_t> sk)
      REQUIRES(mu_);

  const std::string path_;
  mutable SharedMutex mu_;
  std::shared_ptr<const RootSealer> sealer_ GUARDED_BY(mu_);
  std::uint64_t seq_ GUARDED_BY(mu_) = 0;
  std::uint64_t current_ GUARDED_BY(mu_) = 0;
  std::uint64_t next_epoch_ GUARDED_BY(mu_) = 1;
  std::map<std::uint64_t, EpochInfo> epochs_ GUARDED_BY(mu_);
  std::map<std::uint64_t, crypto::SecretBytes> keks_ GUARDED_BY(mu_);
  // Set once when the keyring is first read, then never changed: read without the lock.
  crypto::SecretBytes index_key_, audit_key_, meta_key_, signing_key_;
  crypto::HmacSha256Key index_mac_, audit_mac_;
};

}  // namespace vault
