// Operator commands on a data directory: token create, backup, restore, epoch rotate, sweep
// and audit verify. Their --json output is the HTTP API's rendering (api/json_codec.h).
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "api/cli/common.h"
#include "api/cli/config.h"
#include "api/json_codec.h"
#include "vault/layout.h"
#include "vault/rules.h"

namespace vault::cli {
namespace {

int RunTokenCreate(const Command& cmd, const Flags& flags) {
  int rc = 0;
  if (!RequireFlags(cmd, flags, {"data-dir", "role"}, &rc)) return rc;
  const std::optional<Role> role = ParseRole(flags.Get("role"));
  if (!role) return UsageError(cmd, "--role must be one of admin, dpo, app, auditor");
  const std::vector<std::string> purposes = SplitList(flags.Get("purposes"));
  if (Status s = CheckTokenSpec(*role, purposes, flags.Get("name")); !s.ok()) {
    return UsageError(cmd, s.message());
  }
  std::unique_ptr<Vault> vault = OpenExisting(cmd, flags, &rc);
  if (vault == nullptr) return rc;
  StatusOr<NewToken> token = vault->CreateToken(kCliActor, *role, purposes, flags.Get("name"));
  if (!token.ok()) {
    return FailStatus("cannot create the token", token.status(),
                      "check --role, --purposes ([a-z0-9_-], app tokens only) and --name");
  }
  if (flags.Has("json")) {
    PrintJson(api::NewTokenJson(*token));
  } else {
    std::cout << token->secret << "\n";
  }
  return kExitOk;
}

int RunBackup(const Command& cmd, const Flags& flags) {
  int rc = 0;
  if (!RequireFlags(cmd, flags, {"data-dir", "out"}, &rc)) return rc;
  std::unique_ptr<Vault> vault = OpenExisting(cmd, flags, &rc);
  if (vault == nullptr) return rc;
  StatusOr<BackupManifest> manifest = Status(Code::kInternal, "not run");
  {
    ProgressBar bar("backup", flags, ProgressBar::Unit::kBytes);
    manifest = vault->Backup(flags.Get("out"), bar.Fn());
  }
  if (!manifest.ok()) {
    return FailStatus("backup failed", manifest.status(),
                      "check that --out is a new or empty directory with free space");
  }
  if (flags.Has("json")) {
    PrintJson(api::BackupManifestJson(*manifest));
  } else {
    std::cout << "Backup written to " << manifest->path << " (epoch " << manifest->epoch
              << "); restorable with the live keyring until "
              << FormatRfc3339(manifest->readable_until) << "; unreadable by anyone after "
              << FormatRfc3339(manifest->unreadable_after) << "\n";
  }
  return kExitOk;
}

// restore reads no config file (its --data-dir is a new directory, not the one the settings
// name), but its root key comes from the same LETHE_ROOT_KEY_PKCS11 and LETHE_ROOT_KEY_FILE
// variables as every other command's.
int RunRestore(const Command& cmd, const Flags& command_line) {
  int rc = 0;
  Flags flags = command_line;
  std::vector<FlagSpec> key_flags;
  std::copy_if(cmd.flags.begin(), cmd.flags.end(), std::back_inserter(key_flags),
               [](const FlagSpec& f) { return f.name.starts_with("root-key"); });
  if (Status s = ApplyEnvironment(key_flags, &flags); !s.ok()) {
    return UsageError(cmd, s.message());
  }
  // With the root key in a token the keyring is the token's (its epochs) and the backup's
  // store row (its system keys): no keyring file.
  const bool in_token = flags.Has("root-key-pkcs11");
  if (!RequireFlags(cmd, flags, {"from", "data-dir"}, &rc)) return rc;
  if (!in_token && !RequireFlags(cmd, flags, {"keyring"}, &rc)) return rc;
  const std::string keyring = flags.Get("keyring");
  // The keyring lives in a data directory: its default root key file is beside it.
  std::string keyring_dir = std::filesystem::path(keyring).parent_path().string();
  if (keyring_dir.empty()) keyring_dir = ".";
  StatusOr<RestoreResult> result = Status(Code::kInternal, "not run");
  {
    ProgressBar bar("restore", flags);
    RootKeySource root = ResolveRootKey(flags, keyring_dir);
    result = root.status.ok() ? Vault::Restore(flags.Get("from"), flags.Get("data-dir"), keyring,
                                               std::move(root.provider), bar.Fn())
                              : StatusOr<RestoreResult>(root.status);
  }
  if (!result.ok()) {
    return FailStatus("restore failed", result.status(),
                      "check --from, --keyring and the root key; --data-dir must be new or empty");
  }
  if (flags.Has("json")) {
    nlohmann::json j = api::BackupManifestJson(result->manifest);
    j["data_dir"] = result->data_dir;
    PrintJson(j);
  } else {
    std::cout << "Restored " << flags.Get("from") << " into " << result->data_dir << "\n";
  }
  return kExitOk;
}

int RunEpochRotate(const Command& cmd, const Flags& flags) {
  int rc = 0;
  std::unique_ptr<Vault> vault = OpenExisting(cmd, flags, &rc);
  if (vault == nullptr) return rc;
  StatusOr<RotationResult> r = Status(Code::kInternal, "not run");
  {
    ProgressBar bar("rewrapping keys", flags);
    r = vault->RotateEpoch(kCliActor, bar.Fn());
  }
  if (!r.ok()) return FailStatus("epoch rotation failed", r.status(), "retry; see the audit log");
  if (flags.Has("json")) {
    PrintJson(api::RotationJson(*r));
  } else {
    std::cout << "Epoch " << r->epoch << ": " << r->rewrapped << " keys rewrapped, "
              << r->destroyed_epochs.size() << " old epochs destroyed\n";
  }
  return kExitOk;
}

int RunSweep(const Command& cmd, const Flags& flags) {
  int rc = 0;
  std::unique_ptr<Vault> vault = OpenExisting(cmd, flags, &rc);
  if (vault == nullptr) return rc;
  StatusOr<SweepResult> r = Status(Code::kInternal, "not run");
  {
    ProgressBar bar("sweep steps", flags);
    r = vault->Sweep(kCliActor, bar.Fn());
  }
  if (!r.ok()) return FailStatus("sweep failed", r.status(), "retry; see the audit log");
  if (flags.Has("json")) {
    PrintJson(api::SweepJson(*r));
  } else {
    std::cout << "Sweep: " << r->erasures_executed << " erasures executed, " << r->scopes_shredded
              << " key scopes shredded, " << r->records_collected << " records collected"
              << (r->epoch_rotated ? ", epoch rotated" : "") << "\n";
  }
  return kExitOk;
}

int RunAuditVerify(const Command& cmd, const Flags& flags) {
  int rc = 0;
  std::unique_ptr<Vault> vault = OpenExisting(cmd, flags, &rc);
  if (vault == nullptr) return rc;
  StatusOr<AuditVerifyResult> r = Status(Code::kInternal, "not run");
  {
    ProgressBar bar("audit entries", flags);
    r = vault->VerifyAudit(bar.Fn());
  }
  if (!r.ok()) return FailStatus("audit verification failed", r.status(), "see the audit log");
  if (flags.Has("json")) {
    PrintJson(api::AuditVerifyJson(*r));
  } else if (r->ok) {
    std::cout << "Audit log intact: " << r->entries << " entries from seq " << r->from_seq << ", "
              << r->checkpoints << " signed checkpoints match, head " << r->head << "\n";
  }
  if (!r->ok) {
    return Fail(
        kExitInvalid,
        "the audit log chain is broken" +
            (r->first_bad_seq ? " at entry " + std::to_string(*r->first_bad_seq) + ": " + r->problem
                              : std::string()),
        "restore the audit log from a backup and investigate the tampering");
  }
  return kExitOk;
}

FlagSpec RestoreRootKeyFlag() {
  const std::string key_name =
      std::filesystem::path(layout::DefaultRootKeyFile(".")).filename().string();
  return {"root-key-file", "FILE",
          "root key file (default: $" + std::string(kRootKeyEnv) + " if set, else " + key_name +
              " beside the keyring)"};
}

}  // namespace

std::vector<Command> AdminCommands() {
  return {
      {"token create", "", "create an API token and print it once",
       VaultFlags({{"role", "ROLE", "admin, dpo, app or auditor"},
                   {"purposes", "A,B", "purposes an app token may process"},
                   {"name", "NAME", "a label for the token"}}),
       0, RunTokenCreate},
      {"backup", "", "write a compacted copy of the store (no keyring), safe while serving",
       VaultFlags({{"out", "DIR", "new directory for the backup"}, kProgressFlag}), 0, RunBackup},
      {"restore",
       "",
       "restore a backup into a new data directory against a live keyring",
       {{"from", "DIR", "the backup directory"},
        {"data-dir", "DIR", "new data directory to restore into"},
        {"keyring", "FILE", "the live keyring file (not with --root-key-pkcs11)"},
        RestoreRootKeyFlag(),
        kRootKeyPkcs11Flag,
        kProgressFlag,
        kJsonFlag,
        kHelpFlag,
        kVersionFlag},
       0,
       RunRestore},
      {"epoch rotate", "", "start a new key epoch and rewrap every live data key",
       VaultFlags({kProgressFlag}), 0, RunEpochRotate},
      {"sweep", "", "run the sweeper once: due erasures, expired retention, old epochs",
       VaultFlags({kProgressFlag}), 0, RunSweep},
      {"audit verify", "", "verify the audit log's hash chain", VaultFlags({kProgressFlag}), 0,
       RunAuditVerify},
  };
}

}  // namespace vault::cli
