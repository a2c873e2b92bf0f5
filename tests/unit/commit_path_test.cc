// The commit path (docs/design.md "The commit path"): many concurrent writers of new subjects
// and new records all land and survive a reopen; what lies past the key slots' high-water
// mark (zeroed room, reserved keys, junk) is zeroed on open; the reserve is not used across an
// epoch change nor after another process used its slots; a writer killed while it creates
// subjects (each a pair of reserved keys) loses no acknowledged write.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "test_util.h"
#include "vault/key_reserve.h"
#include "vault/layout.h"
#include "vault/rows.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

std::uint64_t FileSize(const std::string& path) { return std::filesystem::file_size(path); }

// The offset one past the last non-zero byte of the file.
std::size_t UsedBytes(const std::string& path) {
  const std::string bytes = testing::ReadFile(path);
  const auto last = std::find_if(bytes.rbegin(), bytes.rend(), [](char c) { return c != 0; });
  return static_cast<std::size_t>(bytes.rend() - last);
}

TEST(CommitPathTest, ManyConcurrentWritersOfNewSubjectsAndRecordsAllLand) {
  auto t = TestVault::Make("commit-many");
  constexpr int kThreads = 16, kEach = 40;  // 640 new subjects: 1,280 fresh key slots
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < kEach; ++i) {
        const std::string n = std::to_string(th) + "-" + std::to_string(i);
        if (!t->vault->PutRecord(t->admin, "new-" + n, "account", "r", json{{"n", n}}).ok()) {
          ++failures;
        }
        if (!t->vault
                 ->PutRecord(t->admin, "old-" + std::to_string(th), "account", "r" + n,
                             json{{"n", n}})
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures, 0);
  t->Reopen();
  int missing = 0;
  for (int th = 0; th < kThreads; ++th) {
    for (int i = 0; i < kEach; ++i) {
      const std::string n = std::to_string(th) + "-" + std::to_string(i);
      auto a = t->vault->GetRecord(t->admin, "new-" + n, "account", "r");
      auto b = t->vault->GetRecord(t->admin, "old-" + std::to_string(th), "account", "r" + n);
      if (!a.ok() || !b.ok() || testing::Data(*a)["n"] != n || testing::Data(*b)["n"] != n) {
        ++missing;
      }
    }
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(t->vault->Stats()->records, static_cast<std::uint64_t>(2 * kThreads * kEach));
}

TEST(CommitPathTest, SlotsPastTheMarkAreZeroedOnOpenAndEveryKeyStillReads) {
  auto t = TestVault::Make("commit-room");
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        t->vault->PutRecord(t->admin, "s" + std::to_string(i), "account", "r", json{{"i", i}})
            .ok());
  }
  const std::string slots = layout::KeySlotsFile(t->dir + "/data");
  // 20 DEKs (a subject key and an account key per subject), then the reserve and the room.
  EXPECT_GE(FileSize(slots), 20u * kSlotBytes + 8 * 1024);
  // Slot 20, past the mark, holds a reserved key (vault/key_reserve.h).
  const std::string reserved = testing::ReadFile(slots).substr(20 * kSlotBytes, kSlotBytes);
  EXPECT_NE(reserved, std::string(kSlotBytes, '\0'));
  // A never-committed allocation past the high-water mark, as a crash could leave it.
  t->vault.reset();
  {
    std::fstream f(slots, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(FileSize(slots) - 3 * kSlotBytes));
    f << std::string(kSlotBytes, 'J');
  }
  const std::string kept = testing::ReadFile(slots).substr(0, 20 * kSlotBytes);
  t->Reopen();
  // Everything past the mark was zeroed and cut off; the reserve was written afresh.
  const std::string after = testing::ReadFile(slots);
  EXPECT_EQ(after.substr(0, 20 * kSlotBytes), kept);
  EXPECT_EQ(after.find("JJJJ"), std::string::npos);
  EXPECT_EQ(after.find(reserved), std::string::npos);
  EXPECT_LE(UsedBytes(slots), (20u + KeyReserve::kBatch) * kSlotBytes);
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(t->vault->GetRecord(t->admin, "s" + std::to_string(i), "account", "r").ok());
  }
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "s10", "account", "r", json{{"i", 10}}).ok());
  t->Reopen();
  EXPECT_EQ(testing::ReadFile(slots).find("JJJJ"), std::string::npos);
  EXPECT_TRUE(t->vault->GetRecord(t->admin, "s10", "account", "r").ok());
}

// Keys taken from the reserve (vault/key_reserve.h) are wrapped under the current epoch: the
// reserve filled before a rotation is not used after it, so every key row names the new epoch.
TEST(CommitPathTest, NewKeysAfterARotationAreWrappedUnderTheNewEpoch) {
  auto t = TestVault::Make("commit-epoch");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "before", "account", "r", json{{"i", 1}}).ok());
  auto rotation = t->vault->RotateEpoch(t->admin);
  ASSERT_TRUE(rotation.ok()) << rotation.status().ToString();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        t->vault->PutRecord(t->admin, "after" + std::to_string(i), "account", "r", json{{"i", i}})
            .ok());
  }
  t->vault.reset();
  std::size_t keys = 0, old_epoch = 0;
  ASSERT_TRUE(TEST_EditTable(t->dir + "/data", Table::kKeys, [&](TEST_Rows& rows) {
                for (const auto& [k, v] : rows) {
                  KeyRow row;
                  ASSERT_TRUE(DecodeKeyRow(v, &row));
                  ++keys;
                  if (row.epoch != rotation->epoch) ++old_epoch;
                }
              }).ok());
  EXPECT_EQ(keys, 12u);  // 6 subjects x (subject key + account key)
  EXPECT_EQ(old_epoch, 0u);
  t->Reopen();
  EXPECT_TRUE(t->vault->GetRecord(t->admin, "before", "account", "r").ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(t->vault->GetRecord(t->admin, "after" + std::to_string(i), "account", "r").ok());
  }
}

// Another process opening the store (the CLI beside the server) zeroes and cuts off the slots
// past the high-water mark, where this process keeps its reserve, and allocates slots there
// itself: keys this process then creates must not come from those slots unchecked.
TEST(CommitPathTest, AnotherProcessUsingTheReservedSlotsIsNoticed) {
  auto t = TestVault::Make("commit-shared");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "mine-0", "account", "r", json{{"i", 0}}).ok());
  std::vector<long> acked;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::execl(VAULT_TEST_HELPER, VAULT_TEST_HELPER, (t->dir + "/data").c_str(),
            (t->dir + "/root.key").c_str(), "0", "new-subjects", nullptr);
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while (out.size() < 200 && (n = ::read(fds[0], buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  for (std::size_t pos; (pos = out.find('\n')) != std::string::npos; out.erase(0, pos + 1)) {
    acked.push_back(std::stol(out.substr(0, pos)));
  }
  ASSERT_FALSE(acked.empty());
  for (int i = 1; i <= 20; ++i) {
    ASSERT_TRUE(
        t->vault->PutRecord(t->admin, "mine-" + std::to_string(i), "account", "r", json{{"i", i}})
            .ok());
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i <= 20; ++i) {
      auto r = t->vault->GetRecord(t->admin, "mine-" + std::to_string(i), "account", "r");
      ASSERT_TRUE(r.ok()) << "mine-" << i << ": " << r.status().ToString();
      EXPECT_EQ(testing::Data(*r)["i"], i);
    }
    for (long i : acked) {
      auto r = t->vault->GetRecord(t->admin, "n" + std::to_string(i), "account",
                                   "r" + std::to_string(i));
      ASSERT_TRUE(r.ok()) << "n" << i << ": " << r.status().ToString();
    }
    t->Reopen();
  }
}

// A writer creating a subject per write (each two fresh key slots in the zeroed room), killed
// without warning again and again: every acknowledged write is there after reopening.
TEST(CommitPathTest, KilledWriterOfNewSubjectsLosesNoAcknowledgedWrite) {
  const std::string dir = testing::MakeTempDir("commit-crash");
  ASSERT_TRUE(CreateRootKeyFile(dir + "/root.key").ok());
  std::vector<long> acked;
  for (int round = 0; round < 6; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const std::string start = std::to_string(round * 1000000L);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::execl(VAULT_TEST_HELPER, VAULT_TEST_HELPER, (dir + "/data").c_str(),
              (dir + "/root.key").c_str(), start.c_str(), "new-subjects", nullptr);
      ::_exit(127);
    }
    ::close(fds[1]);
    // The first acknowledgement first (the store and keyring exist), then a kill mid-load.
    std::string out;
    char buf[4096];
    ssize_t n;
    while (out.find('\n') == std::string::npos && (n = ::read(fds[0], buf, sizeof buf)) > 0) {
      out.append(buf, static_cast<size_t>(n));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + 60 * round));
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
  auto v = Vault::Open(o);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const Actor actor{"check", Role::kAdmin};
  std::size_t missing = 0;
  for (long i : acked) {
    auto r = (*v)->GetRecord(actor, "n" + std::to_string(i), "account", "r" + std::to_string(i));
    if (!r.ok() || testing::Data(*r)["i"] != i) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged writes";
  EXPECT_GT(acked.size(), 50u);
  v = Status(Code::kInternal, "closed");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vault
