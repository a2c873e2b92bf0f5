// The shred horizon, proven as an attacker would try it: after erasure and the horizon, no
// file the vault ever wrote (live files, backups, raw copies taken before the erasure) gives
// up the erased subject's data, even to someone holding the root key and the keyring.
#include <gtest/gtest.h>

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

const std::string kVictim = "FORENSIC-SUBJ-VICTIM";

std::vector<std::string> WriteSubjects(Vault& v, const Actor& actor) {
  std::vector<std::string> markers = {kVictim};
  for (int i = 0; i < 5; ++i) {
    const std::string sid = i == 0 ? kVictim : "FORENSIC-SUBJ-" + std::to_string(i);
    const std::string m = "MARKER" + std::to_string(7000 + i);
    markers.push_back(sid);
    markers.push_back(m);
    EXPECT_TRUE(v.PutRecord(actor, sid, "account", "profile",
                            json{{"email", m + "@example.com"}, {"name", m + "-name"}})
                    .ok());
    EXPECT_TRUE(v.PutRecord(actor, sid, "usage", "login-1", json{{"ip", m + "-ip"}}).ok());
    if (i != 0) {  // the victim has nothing that survives erasure
      EXPECT_TRUE(v.PutRecord(actor, sid, "billing", "inv-1", json{{"iban", m + "-iban"}}).ok());
    }
  }
  return markers;
}

struct AttackResult {
  std::size_t victim_records = 0, victim_decrypted = 0;
  std::size_t other_records = 0, other_decrypted = 0;
};

// Tries every harvested DEK against every record ciphertext in the given LMDB files.
AttackResult Attack(const std::vector<std::string>& data_files,
                    const std::map<std::string, crypto::SecretBytes>& deks,
                    const std::string& victim_uid_hex) {
  AttackResult r;
  for (const auto& f : data_files) {
    auto records = TEST_ReadRecordCiphertexts(f);
    EXPECT_TRUE(records.ok()) << records.status().ToString();
    if (!records.ok()) continue;
    for (const auto& rec : *records) {
      const bool victim = crypto::ToHex(crypto::AsBytes(rec.key.substr(0, 16))) == victim_uid_hex;
      bool opened = false;
      for (const auto& [id, dek] : deks) {
        std::vector<std::uint8_t> plain;
        if (crypto::Open(crypto::EnvelopeKind::kRecord, dek, rec.envelope, rec.context,
                         &plain)) {
          opened = true;
          break;
        }
      }
      (victim ? r.victim_records : r.other_records)++;
      if (opened) (victim ? r.victim_decrypted : r.other_decrypted)++;
    }
  }
  return r;
}

class ShredHorizonTest : public ::testing::Test {
 protected:
  void Prepare(const std::string& horizon) {
    t_ = TestVault::Make("forensic", testing::PolicyWithHorizon(horizon));
    markers_ = WriteSubjects(*t_->vault, t_->admin);
    // 1. A backup, and raw copies of the data files as an attacker with disk access takes
    // them (not of the keyring: whoever copied it before the erasure already had the data).
    ASSERT_TRUE(t_->vault->Backup(t_->dir + "/backup").ok());
    fs::create_directories(t_->dir + "/attacker");
    fs::copy_file(t_->dir + "/data/store/data.mdb", t_->dir + "/attacker/data.mdb");
    fs::copy_file(t_->dir + "/data/keyslots", t_->dir + "/attacker/keyslots");
    ExpectNoMarkers("after writing and backing up");
    // 2. Erase the victim, then rotate the epoch (with horizon 0d, one rotation passes it).
    auto e = t_->vault->RequestErasure(t_->dpo, kVictim, "immediate", "forensic test");
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    receipt_ = json::parse(e->receipt_json);
    ExpectNoMarkers("after erasure");
    auto rot = t_->vault->RotateEpoch(t_->admin);
    ASSERT_TRUE(rot.ok()) << rot.status().ToString();
    destroyed_ = rot->destroyed_epochs;
    ExpectNoMarkers("after rotation");
  }

  void ExpectNoMarkers(const std::string& when) {
    // Root key file excluded from nothing: it holds no personal data either.
    EXPECT_EQ(testing::FindMarkers(t_->dir, markers_), std::vector<std::string>{}) << when;
  }

  std::map<std::string, crypto::SecretBytes> HarvestEverything() {
    auto root = t_->root->Load();
    auto keyring = Keyring::Open(t_->dir + "/data/keyring", std::move(root).value());
    EXPECT_TRUE(keyring.ok());
    const auto keks = TEST_LiveKeks(**keyring);
    std::map<std::string, crypto::SecretBytes> deks;
    for (const auto& f : testing::FilesBelow(t_->dir)) {
      testing::HarvestDeks(testing::ReadFile(f), keks, &deks);
    }
    return deks;
  }

  std::vector<std::string> DataFiles() const {
    return {t_->dir + "/attacker/data.mdb", t_->dir + "/backup/data.mdb",
            t_->dir + "/data/store/data.mdb"};
  }

  std::unique_ptr<TestVault> t_;
  std::vector<std::string> markers_;
  json receipt_;
  std::vector<std::uint64_t> destroyed_;
};

TEST_F(ShredHorizonTest, AfterTheHorizonNothingTheVaultEverWroteGivesUpTheErasedSubject) {
  Prepare("0d");
  ASSERT_EQ(destroyed_, std::vector<std::uint64_t>{1});  // the epoch current at erasure

  // 3a. The backup no longer restores, and says why.
  auto restored = Vault::Restore(t_->dir + "/backup", t_->dir + "/restored",
                                 t_->dir + "/data/keyring", t_->root);
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.status().code(), Code::kGone);
  EXPECT_NE(restored.status().message().find("epoch 1 (destroyed"), std::string::npos);

  // 3b. Everything by hand: every wrapped-key blob in every file (live, backup, raw copies,
  // keyring), unwrapped with every KEK the vault still has, tried on every ciphertext.
  const auto deks = HarvestEverything();
  const AttackResult r = Attack(DataFiles(), deks, receipt_["subject_ref"]);
  EXPECT_GT(r.victim_records, 0u)
      << "the copies must hold the victim's ciphertext for this to mean anything";
  EXPECT_EQ(r.victim_decrypted, 0u);
  // The same attack still opens the other subjects' ciphertext (their keys are live), so the
  // attack itself works and the test can fail.
  EXPECT_GT(r.other_records, 0u);
  EXPECT_EQ(r.other_decrypted, r.other_records);
  for (const auto& s : receipt_["shredded"]) {
    for (const auto& id : s["key_ids"]) EXPECT_EQ(deks.count(id), 0u) << "recovered DEK " << id;
  }
  // 4. And no marker anywhere, including the restore attempt's leftovers.
  ExpectNoMarkers("after the attack");
}

TEST_F(ShredHorizonTest, BeforeTheHorizonTheBackupStillRestoresByDesign) {
  Prepare("31d");
  EXPECT_TRUE(destroyed_.empty());
  // The erased subject is gone from the live store...
  EXPECT_EQ(t_->vault->GetRecord(t_->admin, kVictim, "account", "profile").status().code(),
            Code::kGone);
  // ...but the 0-day-old backup restores with the live keyring and still holds it: backups
  // expire by the horizon, by design, not by accident.
  auto restored = Vault::Restore(t_->dir + "/backup", t_->dir + "/restored",
                                 t_->dir + "/data/keyring", t_->root);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  Options o = t_->Opts();
  o.data_dir = t_->dir + "/restored";
  auto rv = Vault::Open(o);
  ASSERT_TRUE(rv.ok()) << rv.status().ToString();
  auto rec = (*rv)->GetRecord(t_->admin, kVictim, "account", "profile");
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(testing::Data(*rec)["name"], "MARKER7000-name");
  rv = Status(Code::kInternal, "closed");
  // The hand-made attack agrees: with epoch 1 alive, the victim's ciphertext opens.
  const AttackResult r =
      Attack({t_->dir + "/attacker/data.mdb"}, HarvestEverything(), receipt_["subject_ref"]);
  EXPECT_GT(r.victim_decrypted, 0u);
}

}  // namespace
}  // namespace vault
