// Epoch rotation in batches (DekTable::RewrapMany): every key still reads after rotations in
// steps large enough for the two-thread rewrap, the old slots end zeroed (only live keys are
// left in the slot file), and a process killed while rotating loses no acknowledged write.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "key_slot_files.h"
#include "test_util.h"
#include "vault/key_reserve.h"
#include "vault/keyslots.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

TEST(RotationBatchTest, LargeStepsRewrapEveryKeyAndZeroEveryOldSlot) {
  auto t = TestVault::Make("rotate-batch");
  Options o = t->Opts();
  o.rewrap_batch = 700;  // steps of 700 and a last one: the two-thread path and the serial one
  t->vault.reset();
  auto reopened = Vault::Open(o);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  t->vault = std::move(reopened).value();
  auto& v = *t->vault;
  for (int i = 0; i < 900; ++i) {  // 1,800 keys: a subject key and an account key each
    ASSERT_TRUE(
        v.PutRecord(t->admin, "u" + std::to_string(i), "account", "p", json{{"i", i}}).ok());
  }
  const auto keys = v.Stats()->keys_live;
  ASSERT_EQ(keys, 1800u);
  for (std::uint64_t epoch = 2; epoch <= 3; ++epoch) {
    auto r = v.RotateEpoch(t->admin);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->epoch, epoch);
    EXPECT_EQ(r->rewrapped, keys);
    // Each live key in one slot, the reserve past the mark aside (key_reserve.h): the old
    // slots were zeroed (without that, every rotation would leave another 1,800).
    EXPECT_GE(testing::NonZeroKeySlots(t->dir + "/data"), keys);
    EXPECT_LE(testing::NonZeroKeySlots(t->dir + "/data"), keys + 2 * KeyReserve::kBatch);
  }
  t->Reopen();  // recovery zeroes the reserve, the first commit refills it
  EXPECT_GE(testing::NonZeroKeySlots(t->dir + "/data"), keys);
  EXPECT_LE(testing::NonZeroKeySlots(t->dir + "/data"), keys + KeyReserve::kBatch);
  for (int i = 0; i < 900; ++i) {
    auto g = t->vault->GetRecord(t->admin, "u" + std::to_string(i), "account", "p");
    ASSERT_TRUE(g.ok()) << i << ": " << g.status().ToString();
    EXPECT_EQ(testing::Data(*g)["i"], i);
  }
}

// A writer of new subjects and a rotation loop in one process (tests/unit/crash_writer.cc,
// steps of 300 keys), killed at different points: every acknowledged write reads afterwards,
// under whatever epoch its keys ended in.
TEST(RotationBatchTest, KilledWhileRotatingLosesNoAcknowledgedWrite) {
  const std::string dir = testing::MakeTempDir("rotate-crash");
  ASSERT_TRUE(CreateRootKeyFile(dir + "/root.key").ok());
  std::vector<long> acked;
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const std::string start = std::to_string(round * 1000000L);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::execl(VAULT_TEST_HELPER, VAULT_TEST_HELPER, (dir + "/data").c_str(),
              (dir + "/root.key").c_str(), start.c_str(), "rotating", nullptr);
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while (out.find('\n') == std::string::npos && (n = ::read(fds[0], buf, sizeof buf)) > 0) {
      out.append(buf, static_cast<size_t>(n));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + 100 * round));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited early: " << WEXITSTATUS(status);
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    for (std::size_t pos; (pos = out.find('\n')) != std::string::npos; out.erase(0, pos + 1)) {
      acked.push_back(std::stol(out.substr(0, pos)));
    }
  }
  Options o;
  o.data_dir = dir + "/data";
  o.root_key = RootKeyFromFile(dir + "/root.key");
  o.map_size_bytes = 1ull << 30;
  auto v = Vault::Open(o);  // finishes the interrupted rotation
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const Actor actor{"check", Role::kAdmin};
  std::size_t missing = 0;
  for (long i : acked) {
    auto r = (*v)->GetRecord(actor, "n" + std::to_string(i), "account", "r" + std::to_string(i));
    if (!r.ok() || testing::Data(*r)["i"] != i) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged writes";
  EXPECT_GT(acked.size(), 50u);
  EXPECT_GT((*v)->Stats()->epoch, 1u);  // the rotations ran
  v = Status(Code::kInternal, "closed");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vault
