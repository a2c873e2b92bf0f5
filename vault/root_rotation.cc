// Root key rotation: the keyring re-sealed under a new root key, then the old key destroyed.
#include <cstdlib>
#include <cstring>

#include "vault/keyring.h"
#include "vault/layout.h"
#include "vault/root_sealer.h"

namespace vault {
namespace {

// Tests stop the process at a named step (LETHE_TEST_ROOT_ROTATE_STOP), as a crash would.
void StopIfTestAsks(const char* step) {
  const char* at = std::getenv("LETHE_TEST_ROOT_ROTATE_STOP");
  if (at != nullptr && std::strcmp(at, step) == 0) std::_Exit(75);
}

}  // namespace

Status RotateRootKey(const RootKeyProvider& provider, const std::string& data_dir,
                     std::string* what_happened) {
  const auto* rotating = dynamic_cast<const SealingRootKeyProvider*>(&provider);
  if (rotating == nullptr) return Conflict(provider.Describe() + " cannot be rotated by Lethe");
  VAULT_ASSIGN_OR_RETURN(auto sealer, rotating->Sealer());
  VAULT_ASSIGN_OR_RETURN(auto keyring, Keyring::Open(layout::KeyringFile(data_dir), sealer));
  VAULT_ASSIGN_OR_RETURN(auto next, rotating->Next());
  VAULT_RETURN_IF_ERROR(keyring->Reseal(std::move(next), [] { StopIfTestAsks("between-slots"); }));
  StopIfTestAsks("before-retire");
  return rotating->Retire(what_happened);
}

}  // namespace vault
