// Test harness for end-to-end tests: runs the real `vault` binary and talks HTTP to it.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/types.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace vault::e2e {

using nlohmann::json;

struct CliResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// A fresh directory under $TMPDIR, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text);
std::string ReadFile(const std::string& path);

// Runs `lethe args...` to completion.
CliResult RunVault(const std::vector<std::string>& args);

class ServerProcess;
// Runs `lethe args...` on a server's data: with its --store, if it has one.
CliResult RunVaultOn(const ServerProcess& server, std::vector<std::string> args);

// LETHE_TEST_STORE=postgres: the servers this process starts keep their rows in PostgreSQL
// (the e2e suites' second run, ctest label postgres); otherwise in LMDB.
bool TestStoreIsPostgres();

// In the PostgreSQL run, skips a test that checks what only LMDB has, naming it.
#define LETHE_SKIP_ON_POSTGRES(why)                                                  \
  do {                                                                               \
    if (::vault::e2e::TestStoreIsPostgres()) GTEST_SKIP() << "LMDB only: " << (why); \
  } while (0)

// The default policy with a grace period of 0 days.
std::string GraceZeroPolicyYaml();

struct HttpResult {
  int status = 0;  // 0: no response
  std::string body;
  std::string content_type;
  httplib::Headers headers;
  json Json() const;  // discarded value if the body is not JSON
};

// `lethe init --json` in a new data directory, then `lethe serve --listen 127.0.0.1:0` as a
// child process; the destructor stops it with SIGTERM.
class ServerProcess {
 public:
  struct Config {
    std::string policy_yaml;  // empty: the built-in policy
    std::vector<std::string> extra_args = {"--sweep-interval", "0"};
    std::string data_dir;  // empty: a new directory under the server's temporary directory
    // --store for init and serve (a postgresql:// URI; empty: LMDB in the data directory).
    std::string store;
    // Serve data_dir as it is, without `lethe init` (another server's, sharing its keyring
    // and database); admin_token is then the one its init printed.
    bool join = false;
    std::string admin_token;
  };
  static std::unique_ptr<ServerProcess> Start(const Config& config);
  ~ServerProcess();

  int port() const { return port_; }
  const std::string& admin_token() const { return admin_token_; }
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return pid_; }
  // Its --store ("" for LMDB in the data directory), and the flags a CLI command on the same
  // data needs besides --data-dir ({"--store", uri} or none).
  const std::string& store() const { return store_; }
  std::vector<std::string> StoreArgs() const;
  std::string Log() const;  // the server's stderr so far
  bool Alive();

  // Sends SIGTERM and waits; returns the exit code (-1 if killed by a signal or timeout).
  int Terminate();
  // Terminates the server and serves the same data directory again with extra_args.
  void Restart(const std::vector<std::string>& extra_args);

  HttpResult Call(const std::string& method, const std::string& path, const std::string& token,
                  const std::optional<std::string>& body = std::nullopt,
                  const std::string& content_type = "application/json") const;
  HttpResult CallJson(const std::string& method, const std::string& path, const std::string& token,
                      const json& body) const {
    return Call(method, path, token, std::optional<std::string>(body.dump()));
  }
  // Sends bytes as-is on a new TCP connection and returns the raw response (requests should
  // carry "Connection: close"; reading stops at close or after 5 s).
  std::string Raw(const std::string& request) const;

  // Creates a token through the API with the admin token.
  std::string CreateToken(const std::string& role, const std::vector<std::string>& purposes);

 private:
  ServerProcess() = default;
  void Serve(const std::vector<std::string>& extra_args);
  std::unique_ptr<TempDir> dir_;
  std::string data_dir_;
  std::string log_path_;
  std::string admin_token_;
  std::vector<std::string> policy_args_;
  std::string store_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace vault::e2e

namespace vault::e2e {

// Asserts an RFC 9457 problem with the given status; returns its JSON.
inline ::testing::AssertionResult IsProblem(const HttpResult& r, int status) {
  if (r.status != status) {
    return ::testing::AssertionFailure()
           << "status " << r.status << " != " << status << "; body: " << r.body;
  }
  if (r.content_type.rfind("application/problem+json", 0) != 0) {
    return ::testing::AssertionFailure() << "content type '" << r.content_type << "'";
  }
  const json j = r.Json();
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string() || !j.contains("title") ||
      !j["title"].is_string() || !j.contains("detail") || !j["detail"].is_string() ||
      j.value("status", 0) != status) {
    return ::testing::AssertionFailure() << "not a problem document: " << r.body;
  }
  return ::testing::AssertionSuccess();
}

// Sanitizer builds keep freed memory and run slower: memory and time bounds are checked in
// the ordinary build only.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizedBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizedBuild = true;
#else
constexpr bool kSanitizedBuild = false;
#endif
#else
constexpr bool kSanitizedBuild = false;
#endif

// A "<field>: <n> kB" line of /proc/<pid>/status (RssAnon, VmHWM); -1 when absent.
long ProcStatusKib(const std::string& field, pid_t pid);

}  // namespace vault::e2e
