// `lethe serve`: settings from flags, process hardening, the HTTP server, a signal watcher
// that stops it, and the background sweeper.
#include <arpa/inet.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "api/access_log.h"
#include "api/cli/common.h"
#include "api/cli/shutdown_deadline.h"
#include "api/json_codec.h"
#include "api/sd_notify.h"
#include "api/server.h"
#include "vault/store_pg.h"

namespace vault::cli {
namespace {

using nlohmann::json;

struct ServeSettings {
  std::string listen;  // as given: HOST:PORT
  std::string host;
  int port = 0;
  api::ServerOptions server;
  std::chrono::seconds sweep_interval{60};  // 0: no background sweeper
  std::optional<std::string> port_file;
  std::uint64_t map_size_bytes = Options{}.map_size_bytes;  // largest the store may grow to
  std::uint64_t quota_bytes = 0;  // record bytes one token may store; 0: no quota
  // The audit log's head is signed every N entries or S seconds (Options).
  std::uint64_t audit_checkpoint_entries = Options{}.audit_checkpoint_entries;
  std::uint64_t audit_checkpoint_seconds =
      static_cast<std::uint64_t>(Options{}.audit_checkpoint_interval.count());
  // Unwrapped DEKs kept this long when the epoch keys are in a token (Options).
  std::chrono::seconds dek_cache_ttl = Options{}.dek_cache_ttl;
  // After SIGTERM, a store that has not answered this long is abandoned (ShutdownDeadline).
  std::chrono::seconds shutdown_timeout{15};
};

void LogEvent(const json& event) {
  const std::string text = api::DumpJson(event) + "\n";
  std::lock_guard lock(api::LogStreamMutex());  // not inside an access-log batch
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

// ------------------------------------------------------------------------ settings

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

// --name into *value when given; false when it is not a number in [min, max].
template <typename T>
bool ReadNumberFlag(const Flags& flags, const char* name, unsigned long long min,
                    unsigned long long max, T* value) {
  if (!flags.Has(name)) return true;
  const auto v = ParseUnsigned(flags.Get(name), max);
  if (!v || *v < min) return false;
  *value = T(*v);
  return true;
}

// How often the audit log's head is signed. kExitOk, or the usage error already printed.
int AuditFromFlags(const Command& cmd, const Flags& flags, ServeSettings* s) {
  if (!ReadNumberFlag(flags, "audit-checkpoint-entries", 0, 1ull << 32,
                      &s->audit_checkpoint_entries)) {
    return UsageError(cmd, "--audit-checkpoint-entries must be 0..4294967296 (0: by time only)");
  }
  if (!ReadNumberFlag(flags, "audit-checkpoint-seconds", 0, 86400ull * 365,
                      &s->audit_checkpoint_seconds)) {
    return UsageError(cmd,
                      "--audit-checkpoint-seconds must be a number of seconds (0: by count only)");
  }
  return kExitOk;
}

// The resource limits: request rate and storage per token, and the store's size. kExitOk, or
// the usage error already printed.
int LimitsFromFlags(const Command& cmd, const Flags& flags, ServeSettings* s) {
  if (!ReadNumberFlag(flags, "rate-limit", 0, 1'000'000, &s->server.rate_limit)) {
    return UsageError(cmd, "--rate-limit must be 0..1000000 requests a second (0 disables)");
  }
  if (!ReadNumberFlag(flags, "rate-burst", 1, 10'000'000, &s->server.rate_burst)) {
    return UsageError(cmd, "--rate-burst must be 1..10000000 requests");
  }
  if (!ReadNumberFlag(flags, "quota-bytes", 0, 1ull << 50, &s->quota_bytes)) {
    return UsageError(cmd, "--quota-bytes must be 0..1125899906842624 (0 disables)");
  }
  if (!ReadNumberFlag(flags, "map-size", 1ull << 20, 1ull << 44, &s->map_size_bytes)) {
    return UsageError(cmd, "--map-size must be 1048576..17592186044416 bytes");
  }
  return AuditFromFlags(cmd, flags, s);
}

// kExitOk, or the usage error already printed.
int SettingsFromFlags(const Command& cmd, const Flags& flags, ServeSettings* s) {
  s->listen = flags.Get("listen", "127.0.0.1:8270");
  if (!ParseListen(s->listen, &s->host, &s->port)) {
    return UsageError(cmd, "--listen must be HOST:PORT (got an unparsable value)");
  }
  if (!ReadNumberFlag(flags, "max-body-bytes", 1, 1ull << 30, &s->server.max_body_bytes)) {
    return UsageError(cmd, "--max-body-bytes must be 1..1073741824");
  }
  if (!ReadNumberFlag(flags, "threads", 1, 1024, &s->server.threads)) {
    return UsageError(cmd, "--threads must be 1..1024");
  }
  if (!ReadNumberFlag(flags, "max-queued", 1, 65536, &s->server.max_queued_connections)) {
    return UsageError(cmd, "--max-queued must be 1..65536");
  }
  if (!ReadNumberFlag(flags, "sweep-interval", 0, 86400ull * 365, &s->sweep_interval)) {
    return UsageError(cmd, "--sweep-interval must be a number of seconds (0 disables)");
  }
  s->server.sweep_interval = s->sweep_interval;  // lethe_sweep_interval_seconds
  if (!ReadNumberFlag(flags, "dek-cache-ttl", 0, 3600, &s->dek_cache_ttl)) {
    return UsageError(cmd, "--dek-cache-ttl must be 0..3600 seconds (0: no cache)");
  }
  if (!ReadNumberFlag(flags, "shutdown-timeout", 1, 3600, &s->shutdown_timeout)) {
    return UsageError(cmd, "--shutdown-timeout must be 1..3600 seconds");
  }
  if (flags.Has("tls-cert") != flags.Has("tls-key")) {
    return UsageError(cmd, "--tls-cert and --tls-key go together");
  }
  s->server.tls_cert = flags.Get("tls-cert");
  s->server.tls_key = flags.Get("tls-key");
  if (flags.Has("port-file")) s->port_file = flags.Get("port-file");
  return LimitsFromFlags(cmd, flags, s);
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// Tokens and personal data must not cross a network in clear (docs/operations.md, TLS).
void WarnIfPlainHttpOffLoopback(const ServeSettings& s) {
  if (!s.server.tls_cert.empty() || IsLoopbackHost(s.host)) return;
  LogEvent({{"event", "warning"},
            {"listen", s.listen},
            {"message",
             "plain HTTP on a non-loopback address: tokens and personal data would cross the "
             "network in clear; give --tls-cert and --tls-key, or listen on 127.0.0.1 behind a "
             "TLS-terminating proxy"}});
}

// ---------------------------------------------------------------- process hardening

// A serving process holds keys in memory: no core dumps, no ptrace by other users. SIGTERM
// and SIGINT are blocked here, so every thread started later inherits the mask and only the
// signal watcher receives them. Returns those signals.
sigset_t HardenProcess() {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(SIGPIPE, SIG_IGN);
  // Allocations of 1 MiB and more (Argon2's memory, 19 MiB a hash by default) are mapped and
  // unmapped each time. glibc would otherwise raise its threshold after the first free and
  // serve them from per-thread arenas that keep the pages: with 64 workers taking turns at
  // hashing, RSS grew to ~240 MB although at most two hashes ran at once.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// ------------------------------------------------------------------ signal watcher

// Waits for SIGTERM or SIGINT and stops the server; the destructor ends the wait and joins.
class SignalWatcher {
 public:
  SignalWatcher(const sigset_t& signals, api::ApiServer* server, ShutdownDeadline* deadline)
      : signals_(signals), server_(server), deadline_(deadline), thread_([this] { Watch(); }) {}
  ~SignalWatcher() {
    done_.store(true);
    thread_.join();
  }
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  bool stop_requested() const { return stop_requested_.load(); }

 private:
  void Watch() {
    const struct timespec tick = {0, 200'000'000};
    while (!done_.load()) {
      const int sig = sigtimedwait(&signals_, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        LogEvent({{"event", "shutdown"}, {"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        stop_requested_.store(true);
        api::NotifyStopping();  // systemd: Type=notify
        server_->Stop();
        deadline_->Start();
        return;
      }
    }
  }

  const sigset_t signals_;
  api::ApiServer* const server_;
  ShutdownDeadline* const deadline_;
  std::atomic<bool> done_{false};
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;  // last: starts once the members above exist
};

// ---------------------------------------------------------------- background sweeper

// Runs the sweeper every interval (none when it is 0) and logs sweeps that changed something
// or failed; the destructor wakes and joins it.
class BackgroundSweeper {
 public:
  BackgroundSweeper(Vault* vault, api::ApiServer* server, std::chrono::seconds interval)
      : vault_(vault), server_(server), interval_(interval) {
    if (interval_.count() > 0) thread_ = std::thread([this] { Loop(); });
  }
  ~BackgroundSweeper() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  BackgroundSweeper(const BackgroundSweeper&) = delete;
  BackgroundSweeper& operator=(const BackgroundSweeper&) = delete;

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return done_; })) SweepOnce();
  }

  void SweepOnce() {
    StatusOr<SweepResult> r = vault_->Sweep(Actor{"sweeper", Role::kAdmin});
    server_->RecordSweep(r.ok(), std::chrono::system_clock::now());  // lethe_sweep_* metrics
    if (!r.ok()) {
      LogEvent({{"event", "sweep"}, {"error", CodeName(r.status().code())}});
    } else if (r->erasures_executed > 0 || r->scopes_shredded > 0 || r->epoch_rotated) {
      json event = api::SweepJson(*r);
      event.erase("destroyed_epochs");  // the log line names counts only
      event["event"] = "sweep";
      LogEvent(event);
    }
  }

  Vault* const vault_;
  api::ApiServer* const server_;
  const std::chrono::seconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // guarded by mu_
  std::thread thread_;
};

// -------------------------------------------------------------------------- serve

bool WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << port << "\n";
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

// The server, bound and announced; nullptr with *rc set (and the error printed) on failure.
std::unique_ptr<api::ApiServer> StartServer(Vault* vault, const ServeSettings& s, int* rc) {
  StatusOr<std::unique_ptr<api::ApiServer>> created = api::ApiServer::Create(vault, s.server);
  if (!created.ok()) {
    *rc = FailStatus("cannot start the HTTP server", created.status(),
                     "check --tls-cert/--tls-key, --threads and --max-body-bytes");
    return nullptr;
  }
  std::unique_ptr<api::ApiServer> server = std::move(created).value();
  StatusOr<int> bound = server->Bind(s.host, s.port);
  if (!bound.ok()) {
    *rc = Fail(kExitFailure, "cannot listen on " + s.listen,
               "choose a free port or a local address with --listen");
    return nullptr;
  }
  if (s.port_file && !WritePortFile(*s.port_file, *bound)) {
    *rc = Fail(kExitFailure, "cannot write the port file " + *s.port_file,
               "check the path and its permissions");
    return nullptr;
  }
  const std::string address =
      (s.host.find(':') != std::string::npos ? "[" + s.host + "]" : s.host) + ":" +
      std::to_string(*bound);
  LogEvent({{"event", "listening"}, {"address", address}, {"tls", server->tls()}});
  api::NotifyReady();  // systemd: Type=notify; the store is open and the port bound
  return server;
}

const char* SourceName(const Flags& flags, const std::string& name) {
  if (!flags.Has(name)) return "default";
  switch (flags.SourceOf(name)) {
    case Flags::Source::kFlag:
      return "flag";
    case Flags::Source::kEnvironment:
      return "environment";
    case Flags::Source::kConfigFile:
      return "config file";
  }
  return "flag";
}

// `serve --print-config`: the effective settings and where each came from; never a secret (the
// root key is described by where it is read from, not shown).
int PrintConfig(const Command& cmd, const Flags& flags, const ServeSettings& s) {
  const RootKeySource key = ResolveRootKey(flags, flags.Get("data-dir"));
  json settings = {
      {"data-dir", flags.Get("data-dir")},
      {"store", flags.Has("store") ? RedactConninfo(flags.Get("store")) : "(LMDB in data-dir)"},
      {"policy", flags.Has("policy") ? flags.Get("policy") : "(built-in default)"},
      {"root-key", key.in_token       ? (key.provider ? key.provider->Describe() : "(malformed)")
                   : key.file.empty() ? "$" + std::string(kRootKeyEnv)
                                      : "file " + key.file},
      {"listen", s.listen},
      {"tls-cert", s.server.tls_cert},
      {"tls-key", s.server.tls_key},
      {"port-file", s.port_file.value_or("")},
      {"max-body-bytes", s.server.max_body_bytes},
      {"threads", s.server.threads},
      {"max-queued", s.server.max_queued_connections},
      {"sweep-interval", s.sweep_interval.count()},
      {"dek-cache-ttl", s.dek_cache_ttl.count()},
      {"shutdown-timeout", s.shutdown_timeout.count()},
      {"rate-limit", s.server.rate_limit},
      {"rate-burst", s.server.rate_burst},
      {"quota-bytes", s.quota_bytes},
      {"map-size", s.map_size_bytes},
      {"audit-checkpoint-entries", s.audit_checkpoint_entries},
      {"audit-checkpoint-seconds", s.audit_checkpoint_seconds}};
  json sources = json::object();
  for (const FlagSpec& f : cmd.flags) {
    if (settings.contains(f.name)) sources[f.name] = SourceName(flags, f.name);
  }
  sources["root-key"] = key.in_token                 ? SourceName(flags, "root-key-pkcs11")
                        : flags.Has("root-key-file") ? SourceName(flags, "root-key-file")
                        : key.file.empty()           ? "environment"
                                                     : "default";
  PrintJson({{"settings", settings}, {"sources", sources}});
  return kExitOk;
}

int RunServe(const Command& cmd, const Flags& flags) {
  int rc = 0;
  ServeSettings settings;
  if (rc = SettingsFromFlags(cmd, flags, &settings); rc != kExitOk) return rc;
  if (flags.Has("print-config")) return PrintConfig(cmd, flags, settings);
  if (!RequireFlags(cmd, flags, {"data-dir"}, &rc)) return rc;
  WarnIfPlainHttpOffLoopback(settings);
  const sigset_t signals = HardenProcess();
  // Outlives the vault: closing it is part of the shutdown it bounds.
  ShutdownDeadline deadline(settings.shutdown_timeout, IsPostgresUrl(flags.Get("store")),
                            [](const std::string& event) {
                              LogEvent({{"event", event}});
                            });

  std::unique_ptr<Vault> vault = OpenExisting(cmd, flags, &rc, [&](Options& o) {
    o.abandon_store = deadline.abandon_flag();
    o.map_size_bytes = settings.map_size_bytes;
    o.quota_bytes = settings.quota_bytes;
    o.audit_checkpoint_entries = settings.audit_checkpoint_entries;
    o.dek_cache_ttl = settings.dek_cache_ttl;
    o.audit_checkpoint_interval = std::chrono::seconds(settings.audit_checkpoint_seconds);
    // Password checks wait for a hashing turn on their worker: at most a quarter of the
    // workers may wait, so the other routes always find free ones (docs/design.md "Passwords").
    o.password_max_waiting = std::max<std::size_t>(1, settings.server.threads / 4);
  });
  if (vault == nullptr) return rc;
  std::unique_ptr<api::ApiServer> server = StartServer(vault.get(), settings, &rc);
  if (server == nullptr) return rc;

  Status served;
  bool stop_requested = false;
  {
    SignalWatcher watcher(signals, server.get(), &deadline);
    BackgroundSweeper sweeper(vault.get(), server.get(), settings.sweep_interval);
    served = server->Run();
    stop_requested = watcher.stop_requested();
  }  // the sweeper stops, then the watcher
  server.reset();
  vault.reset();
  if (!served.ok() && !stop_requested) {
    return Fail(kExitFailure, "the listener failed: " + served.message(), "restart the server");
  }
  LogEvent({{"event", "stopped"}});
  return kExitOk;
}

}  // namespace

std::vector<Command> ServeCommands() {
  return {
      {"serve",
       "",
       "serve the HTTP API",
       {kDataDirFlag,
        kPolicyFlag,
        kRootKeyFlag,
        kRootKeyPkcs11Flag,
        kStoreFlag,
        {"listen", "HOST:PORT", "address to listen on (default 127.0.0.1:8270; port 0 picks one)"},
        {"tls-cert", "FILE", "PEM certificate; serve HTTPS"},
        {"tls-key", "FILE", "PEM private key for --tls-cert"},
        {"port-file", "FILE", "write the bound port here once listening"},
        {"max-body-bytes", "N", "largest request body (default 1048576)"},
        {"threads", "N", "worker threads that run requests (default 64)"},
        {"max-queued", "N", "requests waiting for a worker before 503 (default 1024)"},
        {"sweep-interval", "SECONDS", "background sweeper period (default 60; 0 disables)"},
        {"shutdown-timeout", "SECONDS",
         "with --store postgresql://: after SIGTERM, calls still waiting on the database this "
         "long fail (503) and the server exits (default 15)"},
        {"dek-cache-ttl", "SECONDS",
         "with the epoch keys in a PKCS#11 token, keep unwrapped data keys this long "
         "(default 30; 0: none)"},
        {"rate-limit", "N", "requests a second per token before 429 (default 1000; 0 disables)"},
        {"rate-burst", "N", "requests a token may send at once (default 2000)"},
        {"quota-bytes", "N", "record bytes one token may store before 429 (default 0: no quota)"},
        {"map-size", "BYTES", "largest the store may grow to (default 68719476736)"},
        {"audit-checkpoint-entries", "N",
         "sign the audit log's head every N entries (default 1000; 0: by time only)"},
        {"audit-checkpoint-seconds", "SECONDS",
         "sign it when the last checkpoint is this old (default 300; 0: by count only)"},
        {"print-config", "", "print the effective settings and their sources, then exit"},
        kConfigFlag,
        kHelpFlag,
        kVersionFlag},
       0,
       RunServe},
  };
}

}  // namespace vault::cli
