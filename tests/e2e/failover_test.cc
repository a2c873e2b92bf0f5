// Failover without losing a write (issue 13): a PostgreSQL primary with a synchronous standby
// (scripts/pg-pair.sh), two `lethe serve` processes given the multi-host URI with
// target_session_attrs=read-write, write load through both; the primary is killed mid-load
// (pg_ctl stop -m immediate) and the standby promoted. Every write a server acknowledged is
// readable afterwards through either server, every answer during the switch is the write's
// success or 503 with Retry-After (never a 500, never a wrong answer), and the servers take
// writes again on the promoted standby by themselves.
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "tests/pg_cluster.h"

#ifndef LETHE_PG_PAIR_SCRIPT
#error "define LETHE_PG_PAIR_SCRIPT (the path of scripts/pg-pair.sh)"
#endif

namespace vault::e2e {
namespace {

// scripts/pg-pair.sh <cmd> <dir>: its output (the URI for start), "" when it fails.
std::string Pair(const std::string& cmd, const std::string& dir) {
  const std::string line = std::string(LETHE_PG_PAIR_SCRIPT) + " " + cmd + " " + dir;
  FILE* p = ::popen(line.c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  const int rc = ::pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return rc == 0 ? (out.empty() ? "ok" : out) : "";
}

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = testing::PgCluster::Missing();
    if (!missing.empty()) GTEST_SKIP() << missing;
    std::string tmpl = "/tmp/lethe-pg-pair-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    url_ = Pair("start", dir_);
    ASSERT_FALSE(url_.empty()) << "pg-pair.sh start failed; logs in " << dir_;
  }
  void TearDown() override {
    servers_.clear();
    if (!dir_.empty()) {
      Pair("stop", dir_);
      std::filesystem::remove_all(dir_);
    }
  }

  std::string dir_, url_;
  std::vector<std::unique_ptr<ServerProcess>> servers_;
};

struct Acked {
  std::string path;
  int value;
};

// What one writer thread saw: acknowledged writes, and any answer that is neither a success
// nor a 503 with Retry-After.
struct WriterLog {
  std::vector<Acked> acked;
  std::vector<std::string> wrong;
  int unavailable = 0;
};

void WriteUntil(ServerProcess& s, const std::string& token, const std::string& name,
                const std::atomic<bool>& stop, WriterLog* log) {
  for (int i = 0; !stop.load(); ++i) {
    const std::string path =
        "/v1/subjects/" + name + "-" + std::to_string(i) + "/records/account/p";
    HttpResult r = s.CallJson("PUT", path, token, {{"data", {{"v", i}}}});
    if (r.status == 201) {
      log->acked.push_back({path, i});
    } else if (r.status == 503 && r.headers.count("Retry-After") == 1) {
      ++log->unavailable;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } else {
      log->wrong.push_back(std::to_string(r.status) + " " + r.body);
    }
  }
}

TEST_F(FailoverTest, APromotedSynchronousStandbyHasEveryAcknowledgedWrite) {
  ServerProcess::Config first;
  first.store = url_;
  servers_.push_back(ServerProcess::Start(first));
  ServerProcess::Config second = first;
  second.join = true;
  second.data_dir = servers_[0]->data_dir();
  second.admin_token = servers_[0]->admin_token();
  servers_.push_back(ServerProcess::Start(second));
  const std::string admin = servers_[0]->admin_token();

  std::atomic<bool> stop{false};
  std::array<WriterLog, 2> logs;
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back(WriteUntil, std::ref(*servers_[w]), admin, "w" + std::to_string(w),
                         std::cref(stop), &logs[w]);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::array<std::size_t, 2> before{};
  for (int w = 0; w < 2; ++w) before[w] = logs[w].acked.size();  // racy read: a lower bound
  ASSERT_FALSE(Pair("kill-primary", dir_).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_FALSE(Pair("promote", dir_).empty());
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the servers reconnect by themselves
  stop = true;
  for (auto& t : writers) t.join();

  std::size_t total = 0;
  for (int w = 0; w < 2; ++w) {
    EXPECT_TRUE(logs[w].wrong.empty()) << "writer " << w << ": " << logs[w].wrong.front();
    EXPECT_GT(before[w], 0u) << "writer " << w << " wrote nothing before the failover";
    EXPECT_GT(logs[w].acked.size(), before[w] + 1) << "writer " << w << " wrote nothing after it";
    total += logs[w].acked.size();
  }
  std::size_t readable = 0;
  for (int w = 0; w < 2; ++w) {
    for (std::size_t i = 0; i < logs[w].acked.size(); ++i) {
      const Acked& a = logs[w].acked[i];
      HttpResult r = servers_[i % 2]->Call("GET", a.path, admin);
      if (r.status == 200 && r.Json()["data"]["v"] == a.value) {
        ++readable;
      } else {
        ADD_FAILURE() << a.path << " was acknowledged, now " << r.status << " " << r.body;
      }
    }
  }
  EXPECT_EQ(readable, total);
  std::printf("failover: %zu writes acknowledged, all readable; 503 answers: %d and %d\n", total,
              logs[0].unavailable, logs[1].unavailable);
}

}  // namespace
}  // namespace vault::e2e
