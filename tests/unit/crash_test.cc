// Crash safety: SIGKILL a writer mid-load, many times; every acknowledged write must be
// there and the store must open.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>

#include "test_util.h"

namespace vault {
namespace {

TEST(CrashTest, KilledWriterLosesNoAcknowledgedWrite) {
  const std::string dir = testing::MakeTempDir("crash");
  ASSERT_TRUE(CreateRootKeyFile(dir + "/root.key").ok());
  std::vector<long> acked;
  std::mt19937 rng(12345);
  long next_start = 0;
  for (int round = 0; round < 12; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const std::string start = std::to_string(next_start);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::execl(VAULT_TEST_HELPER, VAULT_TEST_HELPER, (dir + "/data").c_str(),
              (dir + "/root.key").c_str(), start.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(fds[1]);
    // Let it run for a random 50..400 ms, then kill it without warning.
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 350));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited early: " << WEXITSTATUS(status);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    std::size_t pos = 0, round_acks = 0;
    while ((pos = out.find('\n')) != std::string::npos) {
      acked.push_back(std::stol(out.substr(0, pos)));
      out.erase(0, pos + 1);
      ++round_acks;
    }
    next_start += 1000000;
    if (round == 0) {
      ASSERT_GT(round_acks, 0u) << "the writer acknowledged nothing";
    }
  }
  Options o;
  o.data_dir = dir + "/data";
  o.root_key = RootKeyFromFile(dir + "/root.key");
  o.map_size_bytes = 1ull << 30;
  auto v = Vault::Open(o);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  Actor actor{"check", Role::kAdmin};
  std::size_t missing = 0;
  for (long i : acked) {
    auto r =
        (*v)->GetRecord(actor, "s" + std::to_string(i % 13), "account", "r" + std::to_string(i));
    if (!r.ok() || testing::Data(*r)["i"] != i) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged writes";
  EXPECT_GT(acked.size(), 100u);
  v = Status(Code::kInternal, "closed");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vault
