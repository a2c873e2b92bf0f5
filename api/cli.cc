// The `vault` command line. Errors are one line on stderr: "vault: <what>; <how to fix>".
// Nothing personal is ever printed: only ids of tokens, keys and erasures, counts and paths.
#include "api/cli.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "api/access_log.h"
#include "api/cli_flags.h"
#include "api/json_codec.h"
#include "api/server.h"
#include "vault/policy.h"
#include "vault/root_key.h"
#include "vault/vault.h"

namespace vault::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kRootKeyEnv = "VAULT_ROOT_KEY";
const Actor kCliActor{"cli", Role::kAdmin};

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

int Fail(int code, const std::string& what, const std::string& fix) {
  std::cerr << "vault: " << what << "; " << fix << "\n";
  return code;
}

int UsageError(const Command& cmd, const std::string& what) {
  return Fail(kExitUsage, what, "run `vault " + cmd.name + " --help`");
}

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

int FailStatus(const std::string& what, const Status& s, const std::string& fix) {
  return Fail(ExitCodeFor(s), what + ": " + s.message(), fix);
}

void PrintJson(const json& j) { std::cout << api::DumpJson(j) << "\n"; }

// A progress bar on stderr, drawn only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label) : label_(std::move(label)), tty_(isatty(2) == 1) {}
  ~ProgressBar() {
    if (tty_ && drawn_) std::fputs("\n", stderr);
  }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  ProgressFn Fn() {
    if (!tty_) return {};
    return [this](std::uint64_t done, std::uint64_t total) { Draw(done, total); };
  }

 private:
  void Draw(std::uint64_t done, std::uint64_t total) {
    std::lock_guard<std::mutex> lock(mu_);
    drawn_ = true;
    constexpr int kWidth = 30;
    if (total == 0) {
      std::fprintf(stderr, "\r%s %llu", label_.c_str(), static_cast<unsigned long long>(done));
    } else {
      const std::uint64_t shown = done > total ? total : done;
      const int filled = static_cast<int>(shown * kWidth / total);
      std::string bar(static_cast<std::size_t>(filled), '#');
      bar.resize(kWidth, ' ');
      std::fprintf(stderr, "\r%s [%s] %3d%% (%llu/%llu)", label_.c_str(), bar.c_str(),
                   static_cast<int>(shown * 100 / total), static_cast<unsigned long long>(shown),
                   static_cast<unsigned long long>(total));
    }
    std::fflush(stderr);
  }

  std::string label_;
  bool tty_;
  bool drawn_ = false;
  std::mutex mu_;
};

// --root-key-file, else $VAULT_ROOT_KEY, else the default file.
std::shared_ptr<RootKeyProvider> ResolveRootKey(const Flags& flags,
                                                const std::string& default_file) {
  if (flags.Has("root-key-file")) return RootKeyFromFile(flags.Get("root-key-file"));
  const char* env = std::getenv(kRootKeyEnv);
  if (env != nullptr && *env != '\0') return RootKeyFromEnv(kRootKeyEnv);
  return RootKeyFromFile(default_file);
}

std::string DefaultRootKeyFile(const std::string& data_dir) {
  return (fs::path(data_dir) / "root.key").string();
}

StatusOr<std::unique_ptr<Vault>> OpenVault(const Flags& flags, bool create) {
  Options options;
  options.data_dir = flags.Get("data-dir");
  options.policy_path = flags.Get("policy");
  options.root_key = ResolveRootKey(flags, DefaultRootKeyFile(options.data_dir));
  options.create_if_missing = create;
  return Vault::Open(options);
}

int FailOpen(const Flags& flags, const Status& s) {
  return FailStatus("cannot open the vault in " + flags.Get("data-dir"), s,
                    "check --data-dir, --policy and the root key (--root-key-file or $" +
                        std::string(kRootKeyEnv) + ")");
}

// Common prologue: a required --data-dir.
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

// ---------------------------------------------------------------------------------- init

int RunInit(const Command& cmd, const Flags& flags) {
  int rc = 0;
  if (!RequireFlags(cmd, flags, {"data-dir"}, &rc)) return rc;
  const std::string data_dir = flags.Get("data-dir");
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

  json root_key_file = nullptr;
  std::string root_key_description;
  const char* env = std::getenv(kRootKeyEnv);
  if (flags.Has("root-key-file")) {
    root_key_file = flags.Get("root-key-file");
    root_key_description = "key file " + flags.Get("root-key-file");
  } else if (env != nullptr && *env != '\0') {
    root_key_description = std::string("environment variable ") + kRootKeyEnv;
  } else {
    const std::string path = DefaultRootKeyFile(data_dir);
    if (Status s = CreateRootKeyFile(path); !s.ok()) {
      return FailStatus("cannot create the root key file " + path, s,
                        "check the directory's permissions");
    }
    root_key_file = path;
    root_key_description = "key file " + path + " (a development key: keep it off backups)";
  }

  StatusOr<std::unique_ptr<Vault>> vault = OpenVault(flags, /*create=*/true);
  if (!vault.ok()) return FailOpen(flags, vault.status());
  StatusOr<NewToken> token = (*vault)->CreateToken(kCliActor, Role::kAdmin, {}, "initial admin");
  if (!token.ok()) {
    return FailStatus("cannot create the admin token", token.status(),
                      "remove the data directory and run `vault init` again");
  }
  if (flags.Has("json")) {
    PrintJson(
        {{"admin_token", token->secret}, {"data_dir", data_dir}, {"root_key_file", root_key_file}});
  } else {
    std::cout << "Initialised a vault in " << data_dir << "\n"
              << "Root key: " << root_key_description << "\n"
              << "Admin token (shown once, store it now): " << token->secret << "\n";
  }
  return kExitOk;
}

// --------------------------------------------------------------------------------- serve

std::atomic<bool> g_stop_requested{false};

bool ParseListen(const std::string& text, std::string* host, int* port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const auto p = ParseUnsigned(text.substr(colon + 1), 65535);
  if (h.empty() || !p) return false;
  *host = h;
  *port = static_cast<int>(*p);
  return true;
}

bool WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << port << "\n";
    if (!out.flush()) return false;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return !ec;
}

void LogEvent(const json& event) {
  const std::string text = api::DumpJson(event) + "\n";
  std::lock_guard lock(api::LogStreamMutex());  // not inside an access-log batch
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

int RunServe(const Command& cmd, const Flags& flags) {
  int rc = 0;
  if (!RequireFlags(cmd, flags, {"data-dir"}, &rc)) return rc;
  std::string host;
  int port = 0;
  const std::string listen = flags.Get("listen", "127.0.0.1:8200");
  if (!ParseListen(listen, &host, &port)) {
    return UsageError(cmd, "--listen must be HOST:PORT (got an unparsable value)");
  }
  api::ServerOptions options;
  if (flags.Has("max-body-bytes")) {
    const auto v = ParseUnsigned(flags.Get("max-body-bytes"), 1ull << 30);
    if (!v || *v == 0) return UsageError(cmd, "--max-body-bytes must be 1..1073741824");
    options.max_body_bytes = static_cast<std::size_t>(*v);
  }
  if (flags.Has("threads")) {
    const auto v = ParseUnsigned(flags.Get("threads"), 1024);
    if (!v || *v == 0) return UsageError(cmd, "--threads must be 1..1024");
    options.threads = static_cast<std::size_t>(*v);
  }
  if (flags.Has("max-queued")) {
    const auto v = ParseUnsigned(flags.Get("max-queued"), 65536);
    if (!v || *v == 0) return UsageError(cmd, "--max-queued must be 1..65536");
    options.max_queued_connections = static_cast<std::size_t>(*v);
  }
  unsigned long long sweep_interval = 60;
  if (flags.Has("sweep-interval")) {
    const auto v = ParseUnsigned(flags.Get("sweep-interval"), 86400ull * 365);
    if (!v) return UsageError(cmd, "--sweep-interval must be a number of seconds (0 disables)");
    sweep_interval = *v;
  }
  if (flags.Has("tls-cert") != flags.Has("tls-key")) {
    return UsageError(cmd, "--tls-cert and --tls-key go together");
  }
  options.tls_cert = flags.Get("tls-cert");
  options.tls_key = flags.Get("tls-key");

  // A serving process holds keys in memory: no core dumps, no ptrace by other users.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(SIGPIPE, SIG_IGN);
  // Signals go to one watcher thread; every thread started below inherits this mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  StatusOr<std::unique_ptr<Vault>> opened = OpenVault(flags, /*create=*/false);
  if (!opened.ok()) return FailOpen(flags, opened.status());
  std::unique_ptr<Vault> vault = std::move(opened).value();

  StatusOr<std::unique_ptr<api::ApiServer>> created = api::ApiServer::Create(vault.get(), options);
  if (!created.ok()) {
    return FailStatus("cannot start the HTTP server", created.status(),
                      "check --tls-cert/--tls-key, --threads and --max-body-bytes");
  }
  std::unique_ptr<api::ApiServer> server = std::move(created).value();
  StatusOr<int> bound = server->Bind(host, port);
  if (!bound.ok()) {
    return Fail(kExitFailure, "cannot listen on " + listen,
                "choose a free port or a local address with --listen");
  }
  if (flags.Has("port-file") && !WritePortFile(flags.Get("port-file"), *bound)) {
    return Fail(kExitFailure, "cannot write the port file " + flags.Get("port-file"),
                "check the path and its permissions");
  }
  const std::string address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                              ":" + std::to_string(*bound);
  LogEvent({{"event", "listening"}, {"address", address}, {"tls", server->tls()}});

  std::atomic<bool> done{false};
  std::thread signal_watcher([&] {
    const struct timespec tick = {0, 200'000'000};
    while (!done.load()) {
      const int sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        LogEvent({{"event", "shutdown"}, {"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        g_stop_requested.store(true);
        server->Stop();
        return;
      }
    }
  });

  std::mutex sweep_mu;
  std::condition_variable sweep_cv;
  std::thread sweeper;
  if (sweep_interval > 0) {
    sweeper = std::thread([&] {
      std::unique_lock<std::mutex> lock(sweep_mu);
      while (!sweep_cv.wait_for(lock, std::chrono::seconds(sweep_interval),
                                [&] { return done.load(); })) {
        StatusOr<SweepResult> r = vault->Sweep(Actor{"sweeper", Role::kAdmin});
        if (!r.ok()) {
          LogEvent({{"event", "sweep"}, {"error", CodeName(r.status().code())}});
        } else if (r->erasures_executed > 0 || r->scopes_shredded > 0 || r->epoch_rotated) {
          LogEvent({{"event", "sweep"},
                    {"erasures_executed", r->erasures_executed},
                    {"scopes_shredded", r->scopes_shredded},
                    {"records_collected", r->records_collected},
                    {"epoch_rotated", r->epoch_rotated}});
        }
      }
    });
  }

  const Status served = server->Run();
  {
    std::lock_guard<std::mutex> lock(sweep_mu);
    done.store(true);
  }
  sweep_cv.notify_all();
  if (sweeper.joinable()) sweeper.join();
  signal_watcher.join();
  server.reset();
  vault.reset();
  if (!served.ok() && !g_stop_requested.load()) {
    return Fail(kExitFailure, "the listener failed: " + served.message(), "restart the server");
  }
  LogEvent({{"event", "stopped"}});
  return kExitOk;
}

// -------------------------------------------------------------------------------- tokens

int RunTokenCreate(const Command& cmd, const Flags& flags) {
  int rc = 0;
  if (!RequireFlags(cmd, flags, {"data-dir", "role"}, &rc)) return rc;
  const std::optional<Role> role = ParseRole(flags.Get("role"));
  if (!role) return UsageError(cmd, "--role must be one of admin, dpo, app, auditor");
  const std::vector<std::string> purposes = SplitList(flags.Get("purposes"));
  if (*role == Role::kApp && purposes.empty()) {
    return UsageError(cmd, "app tokens need --purposes (comma-separated)");
  }
  if (*role != Role::kApp && !purposes.empty()) {
    return UsageError(cmd, "--purposes is only for app tokens");
  }
  StatusOr<std::unique_ptr<Vault>> vault = OpenVault(flags, false);
  if (!vault.ok()) return FailOpen(flags, vault.status());
  StatusOr<NewToken> token = (*vault)->CreateToken(kCliActor, *role, purposes, flags.Get("name"));
  if (!token.ok()) {
    return FailStatus("cannot create the token", token.status(),
                      "check --role, --purposes ([a-z0-9_-], app tokens only) and --name");
  }
  if (flags.Has("json")) {
    PrintJson({{"token_id", token->info.token_id},
               {"token", token->secret},
               {"role", RoleName(token->info.role)},
               {"purposes", token->info.purposes}});
  } else {
    std::cout << token->secret << "\n";
  }
  return kExitOk;
}

// ------------------------------------------------------------------------ backup/restore

json ManifestJson(const BackupManifest& m) {
  return {{"path", m.path},
          {"epoch", m.epoch},
          {"epochs_needed", m.epochs_needed},
          {"created_at", api::TimeJson(m.created_at)},
          {"readable_until", api::TimeJson(m.readable_until)},
          {"policy_sha256", m.policy_sha256},
          {"sha256", m.sha256}};
}

int RunBackup(const Command& cmd, const Flags& flags) {
  int rc = 0;
  if (!RequireFlags(cmd, flags, {"data-dir", "out"}, &rc)) return rc;
  StatusOr<std::unique_ptr<Vault>> vault = OpenVault(flags, false);
  if (!vault.ok()) return FailOpen(flags, vault.status());
  StatusOr<BackupManifest> manifest = Status(Code::kInternal, "not run");
  {
    ProgressBar bar("backup");
    manifest = (*vault)->Backup(flags.Get("out"), bar.Fn());
  }
  if (!manifest.ok()) {
    return FailStatus("backup failed", manifest.status(),
                      "check that --out is a new or empty directory with free space");
  }
  if (flags.Has("json")) {
    PrintJson(ManifestJson(*manifest));
  } else {
    std::cout << "Backup written to " << manifest->path << " (epoch " << manifest->epoch
              << "); restorable with the live keyring until "
              << FormatRfc3339(manifest->readable_until) << "\n";
  }
  return kExitOk;
}

int RunRestore(const Command& cmd, const Flags& flags) {
  int rc = 0;
  if (!RequireFlags(cmd, flags, {"from", "data-dir", "keyring"}, &rc)) return rc;
  const std::string keyring = flags.Get("keyring");
  const std::string default_key = (fs::path(keyring).parent_path() / "root.key").string();
  StatusOr<RestoreResult> result = Status(Code::kInternal, "not run");
  {
    ProgressBar bar("restore");
    result = Vault::Restore(flags.Get("from"), flags.Get("data-dir"), keyring,
                            ResolveRootKey(flags, default_key), bar.Fn());
  }
  if (!result.ok()) {
    return FailStatus("restore failed", result.status(),
                      "check --from, --keyring and the root key; --data-dir must be new or empty");
  }
  if (flags.Has("json")) {
    json j = ManifestJson(result->manifest);
    j["data_dir"] = result->data_dir;
    PrintJson(j);
  } else {
    std::cout << "Restored " << flags.Get("from") << " into " << result->data_dir << "\n";
  }
  return kExitOk;
}

// -------------------------------------------------------------- epoch, sweep, audit verify

int RunEpochRotate(const Command& cmd, const Flags& flags) {
  int rc = 0;
  if (!RequireFlags(cmd, flags, {"data-dir"}, &rc)) return rc;
  StatusOr<std::unique_ptr<Vault>> vault = OpenVault(flags, false);
  if (!vault.ok()) return FailOpen(flags, vault.status());
  StatusOr<RotationResult> r = Status(Code::kInternal, "not run");
  {
    ProgressBar bar("rewrapping keys");
    r = (*vault)->RotateEpoch(kCliActor, bar.Fn());
  }
  if (!r.ok()) return FailStatus("epoch rotation failed", r.status(), "retry; see the audit log");
  const json j = {
      {"epoch", r->epoch}, {"rewrapped", r->rewrapped}, {"destroyed_epochs", r->destroyed_epochs}};
  if (flags.Has("json")) {
    PrintJson(j);
  } else {
    std::cout << "Epoch " << r->epoch << ": " << r->rewrapped << " keys rewrapped, "
              << r->destroyed_epochs.size() << " old epochs destroyed\n";
  }
  return kExitOk;
}

int RunSweep(const Command& cmd, const Flags& flags) {
  int rc = 0;
  if (!RequireFlags(cmd, flags, {"data-dir"}, &rc)) return rc;
  StatusOr<std::unique_ptr<Vault>> vault = OpenVault(flags, false);
  if (!vault.ok()) return FailOpen(flags, vault.status());
  StatusOr<SweepResult> r = (*vault)->Sweep(kCliActor);
  if (!r.ok()) return FailStatus("sweep failed", r.status(), "retry; see the audit log");
  if (flags.Has("json")) {
    PrintJson({{"erasures_executed", r->erasures_executed},
               {"scopes_shredded", r->scopes_shredded},
               {"records_collected", r->records_collected},
               {"epoch_rotated", r->epoch_rotated},
               {"destroyed_epochs", r->destroyed_epochs}});
  } else {
    std::cout << "Sweep: " << r->erasures_executed << " erasures executed, " << r->scopes_shredded
              << " key scopes shredded, " << r->records_collected << " records collected"
              << (r->epoch_rotated ? ", epoch rotated" : "") << "\n";
  }
  return kExitOk;
}

int RunAuditVerify(const Command& cmd, const Flags& flags) {
  int rc = 0;
  if (!RequireFlags(cmd, flags, {"data-dir"}, &rc)) return rc;
  StatusOr<std::unique_ptr<Vault>> vault = OpenVault(flags, false);
  if (!vault.ok()) return FailOpen(flags, vault.status());
  StatusOr<AuditVerifyResult> r = (*vault)->VerifyAudit();
  if (!r.ok()) return FailStatus("audit verification failed", r.status(), "see the audit log");
  if (flags.Has("json")) {
    json j = {{"ok", r->ok}, {"entries", r->entries}, {"head", r->head}};
    if (r->first_bad_seq) j["first_bad_seq"] = *r->first_bad_seq;
    PrintJson(j);
  } else if (r->ok) {
    std::cout << "Audit log intact: " << r->entries << " entries, head " << r->head << "\n";
  }
  if (!r->ok) {
    return Fail(
        kExitInvalid,
        "the audit log chain is broken" +
            (r->first_bad_seq ? " at entry " + std::to_string(*r->first_bad_seq) : std::string()),
        "restore the audit log from a backup and investigate the tampering");
  }
  return kExitOk;
}

// -------------------------------------------------------------------------------- policy

StatusOr<Policy> LoadPolicyArg(const Flags& flags) {
  if (flags.positionals().empty()) return Policy::Default();
  return Policy::LoadFile(flags.positionals()[0]);
}

int RunPolicyCheck(const Command&, const Flags& flags) {
  const std::string name =
      flags.positionals().empty() ? "the built-in default policy" : flags.positionals()[0];
  StatusOr<Policy> policy = LoadPolicyArg(flags);
  if (!policy.ok()) {
    // The engine's message already names the file (and line).
    return Fail(kExitInvalid, policy.status().message(),
                "fix the policy file and run `vault policy check` again");
  }
  std::cout << name << ": valid (" << policy->categories.size() << " categories, erasure grace "
            << policy->erasure_grace.ToString() << ", key epoch " << policy->epoch.ToString()
            << ", shred horizon " << policy->horizon.ToString() << ")\n";
  return kExitOk;
}

int RunPolicyRender(const Command&, const Flags& flags) {
  StatusOr<Policy> policy = LoadPolicyArg(flags);
  if (!policy.ok()) {
    return Fail(kExitInvalid, policy.status().message(),
                "fix the policy file and run `vault policy check` on it");
  }
  std::cout << policy->RenderMarkdown();
  return kExitOk;
}

// ------------------------------------------------------------------------------ commands

const FlagSpec kHelp{"help", "", "show this help"};
const FlagSpec kDataDir{"data-dir", "DIR", "the vault's data directory"};
const FlagSpec kPolicy{"policy", "FILE", "policy YAML (default: the built-in policy)"};
const FlagSpec kRootKey{"root-key-file", "FILE",
                        "root key file (default: $VAULT_ROOT_KEY if set, else DIR/root.key)"};
const FlagSpec kJson{"json", "", "print the result as one JSON object"};

std::vector<Command> Commands() {
  return {
      {"init",
       "",
       "create a data directory, a dev root key (0600) and an admin token",
       {kDataDir, kPolicy, kRootKey, kJson, kHelp},
       0,
       RunInit},
      {"serve",
       "",
       "serve the HTTP API",
       {kDataDir,
        kPolicy,
        kRootKey,
        {"listen", "HOST:PORT", "address to listen on (default 127.0.0.1:8200; port 0 picks one)"},
        {"tls-cert", "FILE", "PEM certificate; serve HTTPS"},
        {"tls-key", "FILE", "PEM private key for --tls-cert"},
        {"port-file", "FILE", "write the bound port here once listening"},
        {"max-body-bytes", "N", "largest request body (default 1048576)"},
        {"threads", "N", "worker threads, one per open connection (default 64)"},
        {"max-queued", "N", "accepted connections waiting for a worker (default 256)"},
        {"sweep-interval", "SECONDS", "background sweeper period (default 60; 0 disables)"},
        kHelp},
       0,
       RunServe},
      {"token create",
       "",
       "create an API token and print it once",
       {kDataDir,
        kPolicy,
        kRootKey,
        {"role", "ROLE", "admin, dpo, app or auditor"},
        {"purposes", "A,B", "purposes an app token may process"},
        {"name", "NAME", "a label for the token"},
        kJson,
        kHelp},
       0,
       RunTokenCreate},
      {"backup",
       "",
       "write a compacted copy of the store (no keyring), safe while serving",
       {kDataDir, kPolicy, kRootKey, {"out", "DIR", "new directory for the backup"}, kJson, kHelp},
       0,
       RunBackup},
      {"restore",
       "",
       "restore a backup into a new data directory against a live keyring",
       {{"from", "DIR", "the backup directory"},
        {"data-dir", "DIR", "new data directory to restore into"},
        {"keyring", "FILE", "the live keyring file"},
        {"root-key-file", "FILE",
         "root key file (default: $VAULT_ROOT_KEY if set, else root.key beside the keyring)"},
        kJson,
        kHelp},
       0,
       RunRestore},
      {"epoch rotate",
       "",
       "start a new key epoch and rewrap every live data key",
       {kDataDir, kPolicy, kRootKey, kJson, kHelp},
       0,
       RunEpochRotate},
      {"sweep",
       "",
       "run the sweeper once: due erasures, expired retention, old epochs",
       {kDataDir, kPolicy, kRootKey, kJson, kHelp},
       0,
       RunSweep},
      {"audit verify",
       "",
       "verify the audit log's hash chain",
       {kDataDir, kPolicy, kRootKey, kJson, kHelp},
       0,
       RunAuditVerify},
      {"policy check",
       "[P]",
       "validate a policy file, naming the line of each problem",
       {kHelp},
       1,
       RunPolicyCheck},
      {"policy render",
       "[P]",
       "print the policy's retention table in Markdown",
       {kHelp},
       1,
       RunPolicyRender},
  };
}

void PrintTopHelp(std::ostream& out) {
  out << "vault: an encrypted personal-data vault that erases by destroying keys\n\n"
      << "Usage: vault <command> [flags]   (vault <command> --help for its flags)\n\n"
      << "Commands:\n";
  for (const Command& c : Commands()) {
    std::string head = c.name + (c.args.empty() ? "" : " " + c.args);
    head.resize(std::max<std::size_t>(head.size() + 2, 20), ' ');
    out << "  " << head << c.summary << "\n";
  }
  out << "\nEnvironment:\n  " << kRootKeyEnv
      << "  root key as 64 hex characters, used when --root-key-file is not given\n"
      << "\nExit codes:\n"
      << "  0  success\n"
      << "  1  runtime failure (I/O, address in use, engine error)\n"
      << "  2  usage error (unknown command or flag, missing or malformed value)\n"
      << "  3  invalid data or policy (policy file errors, corrupt store, broken audit chain)\n";
}

void PrintCommandHelp(const Command& c) {
  std::cout << "Usage: vault " << c.name << (c.args.empty() ? "" : " " + c.args) << " [flags]\n\n"
            << c.summary << "\n\nFlags:\n";
  for (const FlagSpec& f : c.flags) {
    std::string head = "--" + f.name + (f.value.empty() ? "" : " " + f.value);
    head.resize(std::max<std::size_t>(head.size() + 2, 28), ' ');
    std::cout << "  " << head << f.help << "\n";
  }
}

}  // namespace

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    PrintTopHelp(std::cerr);
    return kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintTopHelp(std::cout);
    return kExitOk;
  }
  const std::vector<Command> commands = Commands();
  const Command* match = nullptr;
  std::size_t words = 0;
  for (const Command& c : commands) {
    const std::size_t space = c.name.find(' ');
    if (space == std::string::npos) {
      if (args[0] == c.name) {
        match = &c;
        words = 1;
      }
    } else if (args.size() >= 2 && args[0] == c.name.substr(0, space) &&
               args[1] == c.name.substr(space + 1)) {
      match = &c;
      words = 2;
    }
  }
  if (match == nullptr) {
    // "vault token --help" and the like: list the group's commands.
    for (const Command& c : commands) {
      if (c.name.rfind(args[0] + " ", 0) == 0) {
        return Fail(kExitUsage, "'" + args[0] + "' needs a subcommand",
                    "run `vault " + c.name + " --help` or `vault --help`");
      }
    }
    return Fail(kExitUsage, "unknown command '" + args[0] + "'", "run `vault --help`");
  }
  const std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(words),
                                      args.end());
  for (const std::string& a : rest) {
    if (a == "--help" || a == "-h") {
      PrintCommandHelp(*match);
      return kExitOk;
    }
  }
  std::string error;
  std::optional<Flags> flags = Flags::Parse(rest, match->flags, match->max_positionals, &error);
  if (!flags) return UsageError(*match, error);
  try {
    return match->run(*match, *flags);
  } catch (const std::exception&) {
    return Fail(kExitFailure, "unexpected internal error", "report this with the command used");
  }
}

}  // namespace vault::cli
