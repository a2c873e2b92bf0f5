// Root key rotation: the keyring (its file, or a token keyring's store row) re-sealed under a
// new root key, then the old key destroyed.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>

#include "vault/epoch_token.h"
#include "vault/keyring.h"
#include "vault/keyring_token.h"
#include "vault/layout.h"
#include "vault/root_sealer.h"
#include "vault/store.h"
#include "vault/store_pg.h"
#include "vault/vault.h"

namespace vault {
namespace {

// Tests stop the process at a named step (LETHE_TEST_ROOT_ROTATE_STOP), as a crash would.
void StopIfTestAsks(const char* step) {
  const char* at = std::getenv("LETHE_TEST_ROOT_ROTATE_STOP");
  if (at != nullptr && std::strcmp(at, step) == 0) std::_Exit(75);
}

}  // namespace

namespace {

// A token keyring's rotation: its store row re-sealed under the next root key (one write:
// the row opens under the old key before it, under the new one after).
Status RotateStoreRow(const SealingRootKeyProvider& provider, const std::string& data_dir,
                      const std::string& store_url) {
  std::unique_ptr<StoreBackend> backend;
  if (IsPostgresUrl(store_url)) {
    VAULT_ASSIGN_OR_RETURN(backend, OpenPgBackend(store_url, false));
  } else {
    VAULT_ASSIGN_OR_RETURN(
        backend, OpenLmdbBackend(layout::StoreDir(data_dir), Options{}.map_size_bytes, false));
  }
  VAULT_ASSIGN_OR_RETURN(auto store, Store::Open(std::move(backend)));
  std::optional<std::string> row;
  VAULT_RETURN_IF_ERROR(store->Read([&](Txn& txn) {
    if (auto v = txn.Get(Table::kKeyring, kKeyringSystemRow)) row = std::string(*v);
    return Status::Ok();
  }));
  if (!row) return NotFound("the store has no keyring row and " + data_dir + " no keyring file");
  VAULT_ASSIGN_OR_RETURN(auto sealer, provider.Sealer());
  VAULT_ASSIGN_OR_RETURN(auto next, provider.Next());
  VAULT_ASSIGN_OR_RETURN(std::string resealed, TokenKeyring::ResealRow(*sealer, *next, *row));
  VAULT_RETURN_IF_ERROR(store->Write(
      [&](Txn& txn) { return txn.Put(Table::kKeyring, kKeyringSystemRow, resealed); }));
  StopIfTestAsks("between-slots");  // the one "slot" is written: as far as a file's first
  return Status::Ok();
}

}  // namespace

Status RotateRootKey(const RootKeyProvider& provider, const std::string& data_dir,
                     std::string* what_happened) {
  return RotateRootKey(provider, data_dir, "", what_happened);
}

Status RotateRootKey(const RootKeyProvider& provider, const std::string& data_dir,
                     const std::string& store, std::string* what_happened) {
  const auto* rotating = dynamic_cast<const SealingRootKeyProvider*>(&provider);
  if (rotating == nullptr) return Conflict(provider.Describe() + " cannot be rotated by Lethe");
  if (::access(layout::KeyringFile(data_dir).c_str(), F_OK) != 0 &&
      EpochTokenOf(provider).has_value()) {
    VAULT_RETURN_IF_ERROR(RotateStoreRow(*rotating, data_dir, store));
    StopIfTestAsks("before-retire");
    return rotating->Retire(what_happened);
  }
  VAULT_ASSIGN_OR_RETURN(auto sealer, rotating->Sealer());
  VAULT_ASSIGN_OR_RETURN(auto keyring, Keyring::Open(layout::KeyringFile(data_dir), sealer));
  VAULT_ASSIGN_OR_RETURN(auto next, rotating->Next());
  VAULT_RETURN_IF_ERROR(keyring->Reseal(std::move(next), [] { StopIfTestAsks("between-slots"); }));
  StopIfTestAsks("before-retire");
  return rotating->Retire(what_happened);
}

}  // namespace vault
