// `lethe root rotate`: a new root key seals the keyring; the provider destroys the old one.
#include <iostream>

#include "api/cli/common.h"
#include "vault/root_sealer.h"

namespace vault::cli {
namespace {

int RunRootRotate(const Command& cmd, const Flags& flags) {
  int rc = 0;
  // The vault must open (keyring, store and canary agree) before its root key is rotated.
  if (OpenExisting(cmd, flags, &rc) == nullptr) return rc;
  const std::string data_dir = flags.Get("data-dir");
  const RootKeySource root = ResolveRootKey(flags, data_dir);
  std::string what_happened;
  if (Status s = RotateRootKey(*root.provider, data_dir, flags.Get("store"), &what_happened);
      !s.ok()) {
    return FailStatus("root key rotation failed", s,
                      "run `lethe root rotate` again: until it finishes the keyring opens under "
                      "the old or the new root key");
  }
  // Opened again under the new key, which proves it, and the rotation audited.
  std::unique_ptr<Vault> vault = OpenExisting(cmd, flags, &rc);
  if (vault == nullptr) return rc;
  vault->AuditRefusal(kCliActor, "root.rotate", "", "", Code::kOk);
  vault.reset();  // the audit entry is durable once the vault has closed
  if (flags.Has("json")) {
    PrintJson({{"rotated", true}, {"old_root_key", what_happened}});
  } else {
    std::cout << "Root key rotated: " << what_happened << "\n"
              << "Restart every server of this vault with the new root key.\n";
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> RootCommands() {
  return {{"root rotate", "",
           "seal the keyring under a new root key and destroy the old one (no data re-encrypted)",
           VaultFlags({}), 0, RunRootRotate}};
}

}  // namespace vault::cli
