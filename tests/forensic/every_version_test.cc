// Every version, every record, tried as an attacker would: backups taken between each step
// (put, overwrite in the same bucket, move to another bucket, delete); every wrapped key and
// every record ciphertext harvested from every file; every key the live vault still holds
// tried on all of them. No removed version opens; every current version does.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "crypto/aead.h"
#include "crypto/primitives.h"
#include "test_util.h"
#include "vault/keyring.h"
#include "vault/testing.h"

namespace vault {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::TestVault;

constexpr UnixSeconds kJan = 1767225600;  // 2026-01-01: billing kept until 2033-01-02
constexpr UnixSeconds kJun = 1780272000;  // 2026-06-01: billing kept until 2033-06-02

using Deks = std::map<std::string, crypto::SecretBytes>;

class EveryVersionTest : public ::testing::Test {
 protected:
  void SetUp() override { t_ = TestVault::Make("every-version", testing::PolicyWithHorizon("0d")); }

  void Put(const std::string& sid, const std::string& cat, const std::string& id,
           const std::string& marker, std::optional<UnixSeconds> event = std::nullopt) {
    auto r = t_->vault->PutRecord(t_->admin, sid, cat, id, json{{"m", marker}}, event);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  void Delete(const std::string& sid, const std::string& cat, const std::string& id) {
    ASSERT_TRUE(t_->vault->DeleteRecord(t_->admin, sid, cat, id).ok());
  }
  void Backup() {
    const std::string dir = t_->dir + "/backup-" + std::to_string(backups_.size());
    ASSERT_TRUE(t_->vault->Backup(dir).ok());
    backups_.push_back(dir);
  }
  void Rotate() {
    auto rot = t_->vault->RotateEpoch(t_->admin);
    ASSERT_TRUE(rot.ok()) << rot.status().ToString();
    ASSERT_FALSE(rot->destroyed_epochs.empty()) << "horizon 0d: the backups' epoch dies";
  }

  // Every DEK that the KEKs the live keyring holds unwrap from the given files.
  Deks Harvest(const std::vector<std::string>& files) const {
    auto root = t_->root->Load();
    auto keyring = Keyring::Open(t_->dir + "/data/keyring", std::move(root).value());
    EXPECT_TRUE(keyring.ok());
    const auto keks = TEST_LiveKeks(**keyring);
    Deks deks;
    for (const auto& f : files) testing::HarvestDeks(testing::ReadFile(f), keks, &deks);
    return deks;
  }
  // After a rotation, what every key in the live files and the first backup opens.
  std::set<std::string> OpenedPastTheHorizon() {
    Rotate();
    std::vector<std::string> files = LiveFiles();
    files.push_back(backups_[0] + "/data.mdb");
    files.push_back(backups_[0] + "/keyslots");
    return Opened(Harvest(files));
  }
  std::vector<std::string> LiveFiles() const {
    return {t_->dir + "/data/store/data.mdb", t_->dir + "/data/keyslots"};
  }
  std::vector<std::string> DataFiles() const {
    std::vector<std::string> out = {t_->dir + "/data/store/data.mdb"};
    for (const auto& b : backups_) out.push_back(b + "/data.mdb");
    return out;
  }

  // The markers of every record version that some DEK in deks opens, from every ciphertext
  // in every data file: each row as stored, and every record envelope found in the raw bytes
  // (old page copies), tried with the associated data of every row seen anywhere.
  std::set<std::string> Opened(const Deks& deks) const {
    std::vector<std::vector<std::uint8_t>> envelopes;
    std::set<std::vector<std::uint8_t>> contexts;
    for (const auto& f : DataFiles()) {
      auto rows = TEST_ReadRecordCiphertexts(f);
      EXPECT_TRUE(rows.ok()) << rows.status().ToString();
      if (!rows.ok()) continue;
      for (const auto& r : *rows) {
        envelopes.push_back(r.envelope);
        contexts.insert(r.context);
      }
      RawEnvelopes(testing::ReadFile(f), &envelopes);
    }
    std::set<std::string> opened;
    for (const auto& env : envelopes) {
      for (const auto& [id, dek] : deks) {
        for (const auto& ctx : contexts) {
          std::vector<std::uint8_t> plain;
          if (!crypto::Open(crypto::EnvelopeKind::kRecord, dek, env, ctx, &plain)) continue;
          const std::string text(plain.begin(), plain.end());
          const auto at = text.find("VER-");
          if (at != std::string::npos) opened.insert(text.substr(at, text.find('"', at) - at));
        }
      }
    }
    return opened;
  }
  // Record envelopes in raw bytes: the row stores each as u64 length | 'V' 'R' 1 ...
  static void RawEnvelopes(const std::string& bytes, std::vector<std::vector<std::uint8_t>>* out) {
    for (std::size_t i = 8; i + crypto::kEnvelopeHeaderBytes <= bytes.size(); ++i) {
      if (bytes[i] != 'V' || bytes[i + 1] != 'R' || bytes[i + 2] != 1) continue;
      std::uint64_t n = 0;
      std::memcpy(&n, bytes.data() + i - 8, 8);  // little-endian on the test machines
      if (n < crypto::kEnvelopeHeaderBytes || n > 4096 || i + n > bytes.size()) continue;
      out->emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(i),
                        bytes.begin() + static_cast<std::ptrdiff_t>(i + n));
    }
  }

  std::unique_ptr<TestVault> t_;
  std::vector<std::string> backups_;
};

const std::set<std::string> kRemoved = {"VER-profile-1", "VER-prefs-1", "VER-inv-1", "VER-inv-2",
                                        "VER-usage-1"};
const std::set<std::string> kCurrent = {"VER-profile-2", "VER-inv9-1", "VER-usage-2",
                                        "VER-other-1"};

TEST_F(EveryVersionTest, NoRemovedVersionOpensWithAnyKeyTheVaultKeeps) {
  // put: a profile and a neighbour in its scope, two invoices in one bucket, a usage record,
  // another subject's profile.
  Put("s", "account", "profile", "VER-profile-1");
  Put("s", "account", "prefs", "VER-prefs-1");
  Put("s", "billing", "inv", "VER-inv-1", kJan);
  Put("s", "billing", "inv9", "VER-inv9-1", kJan);
  Put("s", "usage", "u", "VER-usage-1");
  Put("o", "account", "profile", "VER-other-1");
  Backup();
  Put("s", "account", "profile", "VER-profile-2");  // overwrite, same bucket
  Put("s", "usage", "u", "VER-usage-2");
  Backup();
  Put("s", "billing", "inv", "VER-inv-2", kJun);  // move to another bucket
  Backup();
  Delete("s", "billing", "inv");  // delete the moved version
  Delete("s", "account", "prefs");
  Backup();

  // Before the horizon passes, the backups may still open old versions with their own
  // wrapped copies; the live vault itself keeps no key for any removed version.
  const std::set<std::string> live = Opened(Harvest(LiveFiles()));
  for (const auto& m : kRemoved) EXPECT_EQ(live.count(m), 0u) << m << " opens with a live key";
  for (const auto& m : kCurrent) EXPECT_EQ(live.count(m), 1u) << m << " must open";

  // Past the horizon: every wrapped key in every file, live and backups, with every KEK left.
  Rotate();
  std::vector<std::string> files = LiveFiles();
  for (const auto& b : backups_) {
    files.push_back(b + "/data.mdb");
    files.push_back(b + "/keyslots");
  }
  const std::set<std::string> all = Opened(Harvest(files));
  for (const auto& m : kRemoved) EXPECT_EQ(all.count(m), 0u) << m << " opens after the horizon";
  for (const auto& m : kCurrent) EXPECT_EQ(all.count(m), 1u) << m << " must open";
}

// The scenario as reported: horizon 0d, PUT (event 2026-01-01), backup, PUT (event
// 2026-06-01), DELETE, a rotation that destroys the backup's epoch.
TEST_F(EveryVersionTest, ABucketMoveThenDeleteLeavesTheFirstVersionUnreadableFromTheBackup) {
  Put("s", "billing", "inv", "VER-inv-1", kJan);
  Backup();
  Put("s", "billing", "inv", "VER-inv-2", kJun);
  Delete("s", "billing", "inv");
  Put("o", "billing", "inv", "VER-other-1", kJan);  // a version that must still open
  const std::set<std::string> opened = OpenedPastTheHorizon();
  EXPECT_EQ(opened.count("VER-inv-1"), 0u);
  EXPECT_EQ(opened.count("VER-other-1"), 1u);
}

TEST_F(EveryVersionTest, AnOverwriteInTheSameBucketLeavesTheOldVersionUnreadableFromTheBackup) {
  Put("s", "account", "profile", "VER-profile-1");
  Backup();
  Put("s", "account", "profile", "VER-profile-2");
  const std::set<std::string> opened = OpenedPastTheHorizon();
  EXPECT_EQ(opened.count("VER-profile-1"), 0u);
  EXPECT_EQ(opened.count("VER-profile-2"), 1u);
}

}  // namespace
}  // namespace vault
