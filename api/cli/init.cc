// `lethe init`: a new data directory, a development root key unless one is given, and the
// first admin token.
#include <filesystem>
#include <iostream>
#include <system_error>

#include "api/cli/common.h"
#include "vault/root_key.h"

namespace vault::cli {
namespace {

namespace fs = std::filesystem;

// A new or empty directory (the given root key file may already sit in it), mode 0700.
int PrepareDataDir(const Flags& flags, const std::string& data_dir) {
  std::error_code ec;
  if (fs::exists(data_dir, ec)) {
    if (!fs::is_directory(data_dir, ec)) {
      return Fail(kExitFailure, data_dir + " exists and is not a directory",
                  "choose a new --data-dir");
    }
    for (const auto& entry : fs::directory_iterator(data_dir, ec)) {
      if (flags.Has("root-key-file") &&
          fs::equivalent(entry.path(), flags.Get("root-key-file"), ec)) {
        continue;
      }
      return Fail(kExitFailure, "data directory " + data_dir + " is not empty",
                  "init needs a new or empty --data-dir");
    }
  }
  fs::create_directories(data_dir, ec);
  if (ec) {
    return Fail(kExitFailure, "cannot create " + data_dir + ": " + ec.message(),
                "check the path and its permissions");
  }
  fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  return kExitOk;
}

int RunInit(const Command& cmd, const Flags& flags) {
  int rc = 0;
  if (!RequireFlags(cmd, flags, {"data-dir"}, &rc)) return rc;
  const std::string data_dir = flags.Get("data-dir");
  if (int prepared = PrepareDataDir(flags, data_dir); prepared != kExitOk) return prepared;

  const RootKeySource root_key = ResolveRootKey(flags, data_dir, /*create=*/true);
  if (!root_key.status.ok()) return UsageError(cmd, root_key.status.message());
  std::string root_key_description = root_key.provider->Describe();
  if (root_key.is_default_file) {
    if (Status s = CreateRootKeyFile(root_key.file); !s.ok()) {
      return FailStatus("cannot create the root key file " + root_key.file, s,
                        "check the directory's permissions");
    }
    root_key_description += " (a development key: keep it off backups)";
  }

  StatusOr<std::unique_ptr<Vault>> vault = OpenVault(flags, /*create=*/true);
  if (!vault.ok()) return FailOpen(flags, vault.status());
  StatusOr<NewToken> token = (*vault)->CreateToken(kCliActor, Role::kAdmin, {}, "initial admin");
  if (!token.ok()) {
    return FailStatus("cannot create the admin token", token.status(),
                      "remove the data directory and run `lethe init` again");
  }
  if (flags.Has("json")) {
    const nlohmann::json key_file =
        root_key.file.empty() ? nlohmann::json(nullptr) : nlohmann::json(root_key.file);
    PrintJson(
        {{"admin_token", token->secret}, {"data_dir", data_dir}, {"root_key_file", key_file}});
  } else {
    std::cout << "Initialised a vault in " << data_dir << "\n"
              << "Root key: " << root_key_description << "\n"
              << "Admin token (shown once, store it now): " << token->secret << "\n";
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> InitCommands() {
  return {{"init", "", "create a data directory, a dev root key (0600) and an admin token",
           VaultFlags({}), 0, RunInit}};
}

}  // namespace vault::cli
