// What every `lethe` command shares: the command table entry, errors and exit codes, common
// flags, the root key's precedence and opening the vault.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/cli.h"
#include "api/cli/flags.h"
#include "vault/vault.h"

namespace vault::cli {

// "lethe 0.1.0": the CMake project version.
std::string VersionLine();

inline constexpr const char* kRootKeyEnv = "LETHE_ROOT_KEY";
inline const Actor kCliActor{"cli", Role::kAdmin};

struct Command;
using CommandFn = std::function<int(const Command&, const Flags&)>;

struct Command {
  std::string name;  // "token create"
  std::string args;  // positional synopsis, e.g. "P"
  std::string summary;
  std::vector<FlagSpec> flags;
  std::size_t max_positionals = 0;
  CommandFn run;
};

// The command groups, in the order `lethe --help` lists them.
std::vector<Command> InitCommands();
std::vector<Command> ServeCommands();
std::vector<Command> AdminCommands();  // token, backup, restore, epoch, sweep, audit
std::vector<Command> PolicyCommands();
std::vector<Command> ReceiptCommands();  // receipt verify
std::vector<Command> ReportCommands();   // report
std::vector<Command> RootCommands();     // root rotate

// Flags many commands take.
extern const FlagSpec kHelpFlag;
extern const FlagSpec kVersionFlag;
extern const FlagSpec kDataDirFlag;
extern const FlagSpec kPolicyFlag;
extern const FlagSpec kRootKeyFlag;
extern const FlagSpec kStoreFlag;          // --store: LMDB (default) or postgresql://...
extern const FlagSpec kRootKeyPkcs11Flag;  // --root-key-pkcs11: the root key in a token
extern const FlagSpec kJsonFlag;
extern const FlagSpec kConfigFlag;  // config.h: a config file and LETHE_* under the flags
// The flags of a command that opens a vault: --data-dir, --policy, --root-key-file, then
// its own, then --config, --json, --help and --version.
std::vector<FlagSpec> VaultFlags(std::vector<FlagSpec> own);

// Prints "lethe: <what>; <fix>" on stderr and returns code.
int Fail(int code, const std::string& what, const std::string& fix);
int UsageError(const Command& cmd, const std::string& what);
int FailStatus(const std::string& what, const Status& s, const std::string& fix);
void PrintJson(const nlohmann::json& j);

// False (and *exit_code set to a usage error) when a named flag is missing or empty.
bool RequireFlags(const Command& cmd, const Flags& flags, std::initializer_list<const char*> names,
                  int* exit_code);
// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> SplitList(const std::string& text);

// Where the root key comes from: --root-key-pkcs11 (a key in a token), else --root-key-file,
// else $LETHE_ROOT_KEY, else the default file (layout::DefaultRootKeyFile beside the data
// directory, or beside the keyring for restore). create (init): a token key is made if the
// token has none.
struct RootKeySource {
  std::string file;  // empty when the key comes from the environment or a token
  bool is_default_file = false;
  bool in_token = false;
  std::shared_ptr<RootKeyProvider> provider;  // null when status is not ok
  Status status;                              // a malformed --root-key-pkcs11
};
RootKeySource ResolveRootKey(const Flags& flags, const std::string& key_dir, bool create = false);

// Engine settings a command sets beyond the flags every command shares (serve: map size,
// storage quota); applied to the Options before the vault opens.
using TuneOptions = std::function<void(Options&)>;
StatusOr<std::unique_ptr<Vault>> OpenVault(const Flags& flags, bool create,
                                           const TuneOptions& tune = {});
int FailOpen(const Flags& flags, const Status& s);
// A required --data-dir, then the vault in it; nullptr with *exit_code set (and the error
// printed) on failure.
std::unique_ptr<Vault> OpenExisting(const Command& cmd, const Flags& flags, int* exit_code,
                                    const TuneOptions& tune = {});

// --progress: progress lines on stderr even when it is not a terminal.
extern const FlagSpec kProgressFlag;

// Progress of a long command on stderr: a bar redrawn in place when stderr is a terminal;
// with --progress and stderr not a terminal (a log, a pipe), one line at each tenth of the
// way and one at the end. Silent otherwise.
class ProgressBar {
 public:
  enum class Unit { kItems, kBytes };
  ProgressBar(std::string label, const Flags& flags, Unit unit = Unit::kItems);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  ProgressFn Fn();

 private:
  void Draw(std::uint64_t done, std::uint64_t total);
  void WriteLine(std::uint64_t done, std::uint64_t total);
  std::string Amount(std::uint64_t n) const;

  std::string label_;
  Unit unit_;
  bool tty_;
  bool lines_;  // --progress on a stderr that is not a terminal
  bool drawn_ = false;
  int last_tenth_ = -1;
  std::mutex mu_;
};

}  // namespace vault::cli
