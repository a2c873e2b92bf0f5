// Spawns the real binary (posix_spawn), waits for its port file, and speaks HTTP to it.
#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifdef LETHE_PG_CLUSTER_SCRIPT
#include "tests/pg_cluster.h"
#endif

extern char** environ;

namespace vault::e2e {
namespace {

namespace fs = std::filesystem;

pid_t Spawn(const std::vector<std::string>& args, const std::string& out_path,
            const std::string& err_path) {
  std::vector<std::string> argv_store = {VAULT_BINARY};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  // The binary must use the root key files the tests create, not one from the environment.
  unsetenv("LETHE_ROOT_KEY");
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, VAULT_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn failed");
  return pid;
}

int ExitCodeOf(int wstatus) { return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1; }

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base ? base : "/tmp") + "/vault-e2e-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CliResult RunVault(const std::vector<std::string>& args) {
  TempDir io;
  const std::string out = io.Join("out"), err = io.Join("err");
  const pid_t pid = Spawn(args, out, err);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  return CliResult{ExitCodeOf(wstatus), ReadFile(out), ReadFile(err)};
}

std::string GraceZeroPolicyYaml() {
  return R"(version: 1
erasure: {grace: 0d}
keys: {epoch: 1d, horizon: 31d}
audit: {retention: 90d}
categories:
  account:
    legal_basis: contract
    purposes: [service, support]
    retention: until_erasure
    survives_erasure: false
    index: {email: {unique: true}}
  billing:
    legal_basis: legal_obligation
    purposes: [billing]
    retention: {after_event: 7y}
    survives_erasure: true
  marketing:
    legal_basis: consent
    consent_purpose: marketing
    purposes: [marketing]
    retention: until_erasure
    on_consent_withdrawal: 30d
)";
}

json HttpResult::Json() const { return json::parse(body, nullptr, false); }

namespace {

// LETHE_TEST_STORE=postgres: a server started without a store of its own keeps its rows in
// a new database of one throw-away cluster per test process (the e2e suites against the
// PostgreSQL backend; scripts/pg-test-cluster.sh). Otherwise "": LMDB.
std::string TestStore() {
  if (!TestStoreIsPostgres()) return "";
#ifdef LETHE_PG_CLUSTER_SCRIPT
  // ctest marks the run skipped on this message (SKIP_REGULAR_EXPRESSION).
  if (const std::string why = ::vault::testing::PgCluster::Missing(); !why.empty()) {
    throw std::runtime_error("LETHE_TEST_STORE=postgres: " + why);
  }
  auto* cluster = ::vault::testing::PgCluster::Get();
  if (cluster == nullptr) throw std::runtime_error("LETHE_TEST_STORE=postgres: no PostgreSQL");
  return cluster->NewDatabase();
#else
  throw std::runtime_error("LETHE_TEST_STORE=postgres: this test binary has no PostgreSQL");
#endif
}

}  // namespace

bool TestStoreIsPostgres() {
  const char* v = std::getenv("LETHE_TEST_STORE");
  return v != nullptr && std::string(v) == "postgres";
}

CliResult RunVaultOn(const ServerProcess& server, std::vector<std::string> args) {
  const std::vector<std::string> store = server.StoreArgs();
  args.insert(args.end(), store.begin(), store.end());
  return RunVault(args);
}

std::vector<std::string> ServerProcess::StoreArgs() const {
  if (store_.empty()) return {};
  return {"--store", store_};
}

std::unique_ptr<ServerProcess> ServerProcess::Start(const Config& config) {
  std::unique_ptr<ServerProcess> p(new ServerProcess());
  p->dir_ = std::make_unique<TempDir>();
  p->data_dir_ = config.data_dir.empty() ? p->dir_->Join("data") : config.data_dir;
  p->log_path_ = p->dir_->Join("server.log");
  std::vector<std::string> policy_args;
  if (!config.policy_yaml.empty()) {
    const std::string policy = p->dir_->Join("policy.yaml");
    WriteFile(policy, config.policy_yaml);
    policy_args = {"--policy", policy};
  }
  const std::string store = config.store.empty() && !config.join ? TestStore() : config.store;
  if (!store.empty()) policy_args.insert(policy_args.end(), {"--store", store});
  p->store_ = store;
  p->policy_args_ = policy_args;
  if (config.join) {
    p->admin_token_ = config.admin_token;
    p->Serve(config.extra_args);
    return p;
  }
  std::vector<std::string> init = {"init", "--data-dir", p->data_dir_, "--json"};
  init.insert(init.end(), policy_args.begin(), policy_args.end());
  const CliResult r = RunVault(init);
  if (r.exit_code != 0) throw std::runtime_error("lethe init failed: " + r.err);
  const json j = json::parse(r.out, nullptr, false);
  if (!j.is_object() || !j.contains("admin_token")) {
    throw std::runtime_error("lethe init --json printed no admin_token");
  }
  p->admin_token_ = j["admin_token"].get<std::string>();
  p->Serve(config.extra_args);
  return p;
}

void ServerProcess::Serve(const std::vector<std::string>& extra_args) {
  const std::string port_file = dir_->Join("port");
  std::remove(port_file.c_str());
  std::vector<std::string> serve = {"serve",       "--data-dir",  data_dir_, "--listen",
                                    "127.0.0.1:0", "--port-file", port_file};
  serve.insert(serve.end(), policy_args_.begin(), policy_args_.end());
  serve.insert(serve.end(), extra_args.begin(), extra_args.end());
  pid_ = Spawn(serve, dir_->Join("server.out"), log_path_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = ReadFile(port_file);
    if (!text.empty()) {
      port_ = std::stoi(text);
      return;
    }
    if (!Alive()) throw std::runtime_error("lethe serve exited early: " + Log());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("lethe serve did not write its port file: " + Log());
}

void ServerProcess::Restart(const std::vector<std::string>& extra_args) {
  Terminate();
  Serve(extra_args);
}

ServerProcess::~ServerProcess() { Terminate(); }

std::string ServerProcess::Log() const { return ReadFile(log_path_); }

bool ServerProcess::Alive() {
  if (pid_ <= 0) return false;
  int wstatus = 0;
  if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int ServerProcess::Terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int wstatus = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return ExitCodeOf(wstatus);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &wstatus, 0);
  pid_ = -1;
  return -1;
}

HttpResult ServerProcess::Call(const std::string& method, const std::string& path,
                               const std::string& token, const std::optional<std::string>& body,
                               const std::string& content_type) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(5);
  client.set_read_timeout(20);
  client.set_write_timeout(20);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  const std::string payload = body.value_or("");
  auto send = [&]() -> httplib::Result {
    if (method == "GET") return client.Get(path.c_str(), headers);
    if (method == "DELETE") {
      return body ? client.Delete(path.c_str(), headers, payload, content_type.c_str())
                  : client.Delete(path.c_str(), headers);
    }
    if (method == "POST") return client.Post(path.c_str(), headers, payload, content_type.c_str());
    if (method == "PUT") return client.Put(path.c_str(), headers, payload, content_type.c_str());
    if (method == "PATCH") {
      return client.Patch(path.c_str(), headers, payload, content_type.c_str());
    }
    throw std::runtime_error("unsupported method in test");
  };
  httplib::Result res = send();
  HttpResult out;
  if (!res) return out;
  out.status = res->status;
  out.body = res->body;
  out.content_type = res->get_header_value("Content-Type");
  out.headers = res->headers;
  return out;
}

std::string ServerProcess::Raw(const std::string& request) const {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::size_t sent = 0;
    while (sent < request.size()) {
      const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    char buf[4096];
    while (true) {
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      response.append(buf, static_cast<std::size_t>(n));
      // Stop after one complete response: a server may keep the connection open.
      const std::size_t head_end = response.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      const std::size_t cl = response.find("Content-Length: ");
      const std::size_t length =
          cl != std::string::npos && cl < head_end ? std::stoul(response.substr(cl + 16)) : 0;
      if (response.size() >= head_end + 4 + length) break;
    }
  }
  close(fd);
  return response;
}

std::string ServerProcess::CreateToken(const std::string& role,
                                       const std::vector<std::string>& purposes) {
  json body = {{"role", role}, {"name", "e2e " + role}};
  if (!purposes.empty()) body["purposes"] = purposes;
  const HttpResult r = CallJson("POST", "/v1/tokens", admin_token_, body);
  if (r.status != 201) throw std::runtime_error("token create failed: " + r.body);
  return r.Json()["token"].get<std::string>();
}

long ProcStatusKib(const std::string& field, pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

}  // namespace vault::e2e
