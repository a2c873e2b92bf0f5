// The keyring when the root key is in a PKCS#11 token: each epoch KEK is a non-extractable
// AES-256 token object (label KEY.epoch.<id>.<created>[.<retired>]), DEKs are wrapped and
// unwrapped by AES-GCM inside the token, destroying an epoch is C_DestroyObject, and the
// epoch list is the token's list of those objects, so every server using the token sees it.
// The system keys stay sealed under the root key, in one row of the store (Table::kKeyring),
// not in a file of the data directory: servers of a fleet share no directory.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/pkcs11.h"
#include "vault/dek_cache.h"
#include "vault/epoch_token.h"
#include "vault/keyring.h"

namespace vault {

// The row of Table::kKeyring that holds the system keys sealed under the root key.
inline constexpr std::string_view kKeyringSystemRow = "system";

class TokenKeyring final : public Keyring {
 public:
  struct Settings {
    std::chrono::seconds dek_cache_ttl{30};
    std::size_t dek_cache_entries = 100000;
    std::size_t sessions = 4;      // a PKCS#11 session runs one operation at a time
    bool make_first_epoch = true;  // without sealed_row, when the token has no epoch
  };
  // Opens the keyring whose system keys the store row sealed_row holds (sealed under sealer's
  // root key) or, without one, makes fresh system keys (the caller stores SealedRow()). The
  // epochs are the token's objects; when it has none of this vault, a first one is made if
  // sealed_row is null, and it is an error otherwise.
  static StatusOr<std::unique_ptr<TokenKeyring>> Open(EpochToken token,
                                                      std::shared_ptr<const RootSealer> sealer,
                                                      const std::optional<std::string>& sealed_row,
                                                      UnixSeconds now, Settings settings);
  // The system keys sealed under sealer: the value of the kKeyringSystemRow row.
  StatusOr<std::string> SealedRow(const RootSealer& sealer) const;
  // Root rotation: the row's system keys, opened under from, sealed under to.
  static StatusOr<std::string> ResealRow(const RootSealer& from, const RootSealer& to,
                                         std::string_view sealed_row);

  Status Reload() override;
  std::uint64_t seq() const override;
  std::uint64_t current_epoch() const override;
  std::vector<EpochInfo> Epochs() const override;
  std::vector<std::uint8_t> WrapDek(const crypto::SecretBytes& dek, const crypto::KeyId& key_id,
                                    std::uint64_t* epoch) const override;
  Status UnwrapDek(std::span<const std::uint8_t> wrapped, std::uint64_t epoch,
                   crypto::SecretBytes* dek) const override;
  StatusOr<std::uint64_t> StartEpoch(UnixSeconds now) override;
  Status DestroyEpochs(const std::vector<std::uint64_t>& ids, UnixSeconds now) override;
  Status Reseal(std::shared_ptr<const RootSealer> next,
                const std::function<void()>& between_slots) override;
  std::chrono::seconds dek_cache_ttl() const override { return cache_.ttl(); }

  // The DEKs the cache holds now (tests).
  std::size_t cached_deks() const { return cache_.size(); }
  // The token objects of the live epochs (the forensic test attacks with them).
  std::map<std::uint64_t, crypto::pkcs11::Handle> LiveKekHandles() const;
  crypto::pkcs11::Session& session() const { return Next(); }

 private:
  TokenKeyring(EpochToken token, std::shared_ptr<const RootSealer> sealer,
               std::vector<std::shared_ptr<crypto::pkcs11::Session>> sessions, Settings settings);
  crypto::pkcs11::Session& Next() const;
  Status ReadTokenLocked(bool create, UnixSeconds now) REQUIRES(mu_);
  Status OpenRow(const RootSealer& sealer, std::string_view sealed_row);
  std::string Label(const EpochInfo& e) const;

  const EpochToken token_;
  const std::vector<std::shared_ptr<crypto::pkcs11::Session>> sessions_;
  mutable std::atomic<std::size_t> next_session_{0};
  mutable DekCache cache_;
  mutable SharedMutex mu_;
  std::uint64_t current_ GUARDED_BY(mu_) = 0;
  std::uint64_t seq_ GUARDED_BY(mu_) = 0;
  std::map<std::uint64_t, EpochInfo> epochs_ GUARDED_BY(mu_);
  std::map<std::uint64_t, crypto::pkcs11::Handle> handles_ GUARDED_BY(mu_);
};

}  // namespace vault
