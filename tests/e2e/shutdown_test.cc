// SIGTERM while PostgreSQL stops answering (its processes SIGSTOPped): `lethe serve` exits
// within its --shutdown-timeout, the requests waiting on the database answer 503, and every
// write acknowledged before is there once the database answers again.
#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "tests/pg_cluster.h"

namespace vault::e2e {
namespace {

constexpr const char* kRecord = "/v1/subjects/s1/records/account/a";

// The cluster's postmaster and every process it started (its backends among them).
std::vector<pid_t> ClusterProcesses(const std::string& cluster_dir) {
  std::ifstream pid_file(cluster_dir + "/data/postmaster.pid");
  pid_t postmaster = 0;
  pid_file >> postmaster;
  std::vector<pid_t> pids;
  if (postmaster <= 0) return pids;
  pids.push_back(postmaster);
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    if (paren == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(line.c_str() + paren + 1, " %c %d", &state, &ppid) == 2 && ppid == postmaster) {
      pids.push_back(static_cast<pid_t>(std::stoi(name)));
    }
  }
  return pids;
}

// Stops (SIGSTOP) the cluster's processes; the destructor lets them run again.
class FrozenCluster {
 public:
  explicit FrozenCluster(const std::string& dir) : pids_(ClusterProcesses(dir)) {
    for (pid_t p : pids_) ::kill(p, SIGSTOP);
  }
  ~FrozenCluster() { Thaw(); }
  FrozenCluster(const FrozenCluster&) = delete;
  FrozenCluster& operator=(const FrozenCluster&) = delete;
  void Thaw() {
    for (pid_t p : pids_) ::kill(p, SIGCONT);
    pids_.clear();
  }
  std::size_t size() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
};

TEST(ShutdownTest, SigtermWhilePostgresqlIsStalledExitsWithinTheTimeout) {
  std::string url;
  LETHE_PG_DATABASE_OR_SKIP(url);
  ServerProcess::Config config;
  config.store = url;
  config.extra_args = {"--sweep-interval", "0", "--shutdown-timeout", "2"};
  auto server = ServerProcess::Start(config);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(
      server->CallJson("PUT", kRecord, server->admin_token(), json{{"data", {{"x", 1}}}}).status,
      201);

  FrozenCluster frozen(testing::PgCluster::Get()->dir());
  ASSERT_GE(frozen.size(), 2u) << "no PostgreSQL processes found to stop";
  // A read and a write wait on the database that does not answer.
  HttpResult read, write;
  std::thread reader([&] { read = server->Call("GET", kRecord, server->admin_token()); });
  std::thread writer([&] {
    write = server->CallJson("PUT", "/v1/subjects/s2/records/account/a", server->admin_token(),
                             json{{"data", {{"x", 2}}}});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  const auto sigterm = std::chrono::steady_clock::now();
  const int exit_code = server->Terminate();  // SIGTERM; SIGKILL after 20 s
  const auto took = std::chrono::steady_clock::now() - sigterm;
  reader.join();
  writer.join();
  EXPECT_EQ(exit_code, 0) << server->Log();
  // --shutdown-timeout 2, then a quick end (ShutdownDeadline exits at 2 + 5 s at the latest).
  EXPECT_LT(took, std::chrono::seconds(6)) << server->Log();
  EXPECT_NE(server->Log().find("shutdown_abandon_store"), std::string::npos) << server->Log();
  EXPECT_TRUE(IsProblem(read, 503));
  EXPECT_TRUE(IsProblem(write, 503));

  // The database answers again: what was acknowledged is there, the audit chain intact.
  frozen.Thaw();
  server->Restart({"--sweep-interval", "0"});
  const HttpResult after = server->Call("GET", kRecord, server->admin_token());
  EXPECT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.Json()["data"], json({{"x", 1}}));
  const CliResult verify =
      RunVaultOn(*server, {"audit", "verify", "--data-dir", server->data_dir()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

}  // namespace
}  // namespace vault::e2e
