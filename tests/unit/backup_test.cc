// Backups: restore before the horizon, refused after it, a tampered copy refused, and every
// file of a backup private (0600 in a 0700 directory).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "test_util.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

const std::string kShortHorizonPolicy = testing::PolicyWithHorizon("0d");

TEST(BackupTest, RestoresBeforeTheHorizonAndIsRefusedAfter) {
  auto t = TestVault::Make("backup", kShortHorizonPolicy);
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  auto m = t->vault->Backup(t->dir + "/bk");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->epochs_needed, std::vector<std::uint64_t>{1});
  EXPECT_FALSE(std::filesystem::exists(t->dir + "/bk/keyring"));
  auto r = Vault::Restore(t->dir + "/bk", t->dir + "/restored", t->dir + "/data/keyring", t->root);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  {
    Options o = t->Opts();
    o.data_dir = t->dir + "/restored";
    auto rv = Vault::Open(o);
    ASSERT_TRUE(rv.ok());
    EXPECT_EQ(testing::Data(*(*rv)->GetRecord(t->admin, "u", "account", "p"))["a"], 1);
  }
  // Tampered backup: checksum.
  {
    std::fstream f(t->dir + "/bk/data.mdb", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('x');
  }
  auto bad = Vault::Restore(t->dir + "/bk", t->dir + "/r2", t->dir + "/data/keyring", t->root);
  EXPECT_EQ(bad.status().code(), Code::kDataLoss);
  EXPECT_NE(bad.status().message().find("checksum"), std::string::npos);
  // After the horizon (0d) the epoch the backup needs is destroyed.
  auto m2 = t->vault->Backup(t->dir + "/bk2");
  ASSERT_TRUE(m2.ok());
  ASSERT_TRUE(t->vault->RotateEpoch(t->admin).ok());
  auto late = Vault::Restore(t->dir + "/bk2", t->dir + "/r3", t->dir + "/data/keyring", t->root);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), Code::kGone);
  EXPECT_NE(late.status().message().find("epoch 1 (destroyed"), std::string::npos)
      << late.status().message();
}

TEST(BackupTest, EveryFileIsPrivateWhateverTheUmask) {
  auto t = TestVault::Make("backupmodes");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  const mode_t old_umask = ::umask(0022);  // what most services run with
  auto m = t->vault->Backup(t->dir + "/bk");
  ::umask(old_umask);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto mode = [](const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  };
  EXPECT_EQ(mode(t->dir + "/bk"), 0700u);
  const auto files = testing::FilesBelow(t->dir + "/bk");
  EXPECT_EQ(files.size(), 3u);  // data.mdb, keyslots, manifest.json
  for (const auto& f : files) EXPECT_EQ(mode(f), 0600u) << f;
}

}  // namespace
}  // namespace vault
