// The pieces every command uses: error lines and exit codes, the root key's precedence,
// opening the vault, and the progress bar.
#include "api/cli/common.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "api/cli/test_clock.h"
#include "api/json_codec.h"
#include "vault/layout.h"
#include "vault/root_key.h"
#include "vault/root_sealer.h"

namespace vault::cli {

std::string VersionLine() { return std::string("lethe ") + VAULT_VERSION; }

const FlagSpec kHelpFlag{"help", "", "show this help"};
const FlagSpec kVersionFlag{"version", "", "print the version"};
const FlagSpec kDataDirFlag{"data-dir", "DIR", "the vault's data directory"};
const FlagSpec kPolicyFlag{"policy", "FILE", "policy YAML (default: the built-in policy)"};
const FlagSpec kRootKeyFlag{"root-key-file", "FILE",
                            "root key file (default: $" + std::string(kRootKeyEnv) +
                                " if set, else " + layout::DefaultRootKeyFile("DIR") + ")"};
const FlagSpec kStoreFlag{"store", "URL",
                          "PostgreSQL connection string (postgresql://...) to keep the rows "
                          "in; default: LMDB in the data directory"};
const FlagSpec kRootKeyPkcs11Flag{
    "root-key-pkcs11", "SPEC",
    "root key in a PKCS#11 token: \"module=LIB;token=LABEL;key=LABEL;pin-file=FILE\" "
    "(or pin-env=VAR); overrides --root-key-file"};
const FlagSpec kJsonFlag{"json", "", "print the result as one JSON object"};
const FlagSpec kConfigFlag{"config", "FILE",
                           "YAML file of settings (flag names as keys; default: $LETHE_CONFIG); "
                           "LETHE_<FLAG> variables override it, flags override both"};

std::vector<FlagSpec> VaultFlags(std::vector<FlagSpec> own) {
  std::vector<FlagSpec> flags = {kDataDirFlag, kPolicyFlag, kRootKeyFlag, kRootKeyPkcs11Flag,
                                 kStoreFlag};
  flags.insert(flags.end(), own.begin(), own.end());
  flags.insert(flags.end(), {kConfigFlag, kJsonFlag, kHelpFlag, kVersionFlag});
  return flags;
}

int Fail(int code, const std::string& what, const std::string& fix) {
  std::cerr << "lethe: " << what << "; " << fix << "\n";
  return code;
}

int UsageError(const Command& cmd, const std::string& what) {
  return Fail(kExitUsage, what, "run `lethe " + cmd.name + " --help`");
}

namespace {

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case Code::kInvalidArgument:
    case Code::kPolicyViolation:
    case Code::kDataLoss:
      return kExitInvalid;
    default:
      return kExitFailure;
  }
}

}  // namespace

int FailStatus(const std::string& what, const Status& s, const std::string& fix) {
  return Fail(ExitCodeFor(s), what + ": " + s.message(), fix);
}

void PrintJson(const nlohmann::json& j) { std::cout << api::DumpJson(j) << "\n"; }

bool RequireFlags(const Command& cmd, const Flags& flags, std::initializer_list<const char*> names,
                  int* exit_code) {
  for (const char* name : names) {
    if (!flags.Has(name) || flags.Get(name).empty()) {
      *exit_code = UsageError(cmd, std::string("--") + name + " is required");
      return false;
    }
  }
  return true;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

RootKeySource ResolveRootKey(const Flags& flags, const std::string& key_dir, bool create) {
  RootKeySource source;
  if (flags.Has("root-key-pkcs11")) {
    source.in_token = true;
    StatusOr<std::shared_ptr<RootKeyProvider>> p =
        RootKeyFromPkcs11(flags.Get("root-key-pkcs11"), create);
    if (p.ok()) {
      source.provider = std::move(p).value();
    } else {
      source.status = p.status();
    }
    return source;
  }
  const char* env = std::getenv(kRootKeyEnv);
  if (flags.Has("root-key-file")) {
    source.file = flags.Get("root-key-file");
  } else if (env != nullptr && *env != '\0') {
    source.provider = RootKeyFromEnv(kRootKeyEnv);
    return source;
  } else {
    source.file = layout::DefaultRootKeyFile(key_dir);
    source.is_default_file = true;
  }
  source.provider = RootKeyFromFile(source.file);
  return source;
}

StatusOr<std::unique_ptr<Vault>> OpenVault(const Flags& flags, bool create,
                                           const TuneOptions& tune) {
  Options options;
  options.data_dir = flags.Get("data-dir");
  options.policy_path = flags.Get("policy");
  options.store = flags.Get("store");
  RootKeySource root = ResolveRootKey(flags, options.data_dir, create);
  if (!root.status.ok()) return root.status;
  options.root_key = std::move(root.provider);
  options.create_if_missing = create;
  options.clock = TestClockFromEnvironment();  // nullptr (the system clock) unless testing
  if (tune) tune(options);
  return Vault::Open(options);
}

int FailOpen(const Flags& flags, const Status& s) {
  return FailStatus("cannot open the vault in " + flags.Get("data-dir"), s,
                    "check --data-dir, --policy and the root key (--root-key-file, "
                    "--root-key-pkcs11 or $" +
                        std::string(kRootKeyEnv) + ")");
}

std::unique_ptr<Vault> OpenExisting(const Command& cmd, const Flags& flags, int* exit_code,
                                    const TuneOptions& tune) {
  if (!RequireFlags(cmd, flags, {"data-dir"}, exit_code)) return nullptr;
  StatusOr<std::unique_ptr<Vault>> vault = OpenVault(flags, /*create=*/false, tune);
  if (!vault.ok()) {
    *exit_code = FailOpen(flags, vault.status());
    return nullptr;
  }
  return std::move(vault).value();
}

const FlagSpec kProgressFlag{"progress", "",
                             "report progress on stderr even when it is not a terminal"};

ProgressBar::ProgressBar(std::string label, const Flags& flags, Unit unit)
    : label_(std::move(label)),
      unit_(unit),
      tty_(isatty(2) == 1),
      lines_(!tty_ && flags.Has("progress")) {}

ProgressBar::~ProgressBar() {
  if (tty_ && drawn_) std::fputs("\n", stderr);
}

ProgressFn ProgressBar::Fn() {
  if (!tty_ && !lines_) return {};
  return [this](std::uint64_t done, std::uint64_t total) { Draw(done, total); };
}

std::string ProgressBar::Amount(std::uint64_t n) const {
  if (unit_ == Unit::kItems) return std::to_string(n);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1024.0 * 1024.0));
  return buf;
}

void ProgressBar::Draw(std::uint64_t done, std::uint64_t total) {
  std::lock_guard<std::mutex> lock(mu_);
  drawn_ = true;
  if (lines_) return WriteLine(done, total);
  constexpr int kWidth = 30;
  if (total == 0) {
    std::fprintf(stderr, "\r%s %s", label_.c_str(), Amount(done).c_str());
  } else {
    const std::uint64_t shown = done > total ? total : done;
    const int filled = static_cast<int>(shown * kWidth / total);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, ' ');
    std::fprintf(stderr, "\r%s [%s] %3d%% (%s of %s)", label_.c_str(), bar.c_str(),
                 static_cast<int>(shown * 100 / total), Amount(shown).c_str(),
                 Amount(total).c_str());
  }
  std::fflush(stderr);
}

// A line when the work crosses a tenth of the total (or, with no total, at every call).
void ProgressBar::WriteLine(std::uint64_t done, std::uint64_t total) {
  if (total == 0) {
    std::fprintf(stderr, "%s: %s\n", label_.c_str(), Amount(done).c_str());
    return;
  }
  const std::uint64_t shown = done > total ? total : done;
  const int tenth = static_cast<int>(shown * 10 / total);
  if (tenth == last_tenth_) return;
  last_tenth_ = tenth;
  std::fprintf(stderr, "%s: %s of %s (%d%%)\n", label_.c_str(), Amount(shown).c_str(),
               Amount(total).c_str(), static_cast<int>(shown * 100 / total));
}

}  // namespace vault::cli
