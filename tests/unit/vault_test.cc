// Engine tests: records, erasure (engine and raw-file forensics), retention, rotation, tokens,
// audit, backups and bad input.
#include "vault/vault.h"

#include <gtest/gtest.h>
#include <lmdb.h>

#include <set>
#include <thread>

#include "crypto/aead.h"
#include "crypto/primitives.h"
#include "test_util.h"
#include "vault/keyring.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

const std::string kShortHorizonPolicy = testing::PolicyWithHorizon("0d");

// Calls fn(name, key, value) for every entry of every named database of a closed store.
void ForEachRaw(const std::string& store_dir,
                const std::function<void(MDB_txn*, MDB_dbi, const std::string&)>& fn) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 16);
  mdb_env_set_mapsize(env, 1ull << 30);
  ASSERT_EQ(mdb_env_open(env, store_dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  for (const char* name : {"records", "audit"}) {
    MDB_dbi dbi;
    ASSERT_EQ(mdb_dbi_open(txn, name, 0, &dbi), 0);
    fn(txn, dbi, name);
  }
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

std::vector<std::pair<std::string, std::string>> AllEntries(MDB_txn* txn, MDB_dbi dbi) {
  std::vector<std::pair<std::string, std::string>> out;
  MDB_cursor* c;
  mdb_cursor_open(txn, dbi, &c);
  MDB_val k, v;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    out.emplace_back(std::string(static_cast<char*>(k.mv_data), k.mv_size),
                     std::string(static_cast<char*>(v.mv_data), v.mv_size));
  }
  mdb_cursor_close(c);
  return out;
}

TEST(RecordsTest, PutGetListDeleteRoundTrip) {
  auto t = TestVault::Make("records");
  auto& v = *t->vault;
  auto r1 = v.PutRecord(t->admin, "user-1", "account", "profile", json{{"name", "Ada"}});
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_TRUE(r1->created);
  EXPECT_EQ(r1->version, 1u);
  EXPECT_EQ(r1->retain_until, 0);
  auto r2 = v.PutRecord(t->admin, "user-1", "account", "profile", json{{"name", "Ada L."}});
  ASSERT_TRUE(r2.ok());
  EXPECT_FALSE(r2->created);
  EXPECT_EQ(r2->version, 2u);
  ASSERT_TRUE(v.PutRecord(t->admin, "user-1", "account", "prefs", json{{"theme", "dark"}}).ok());

  auto g = v.GetRecord(t->admin, "user-1", "account", "profile");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->data["name"], "Ada L.");
  EXPECT_EQ(g->version, 2u);
  EXPECT_EQ(g->record_id, "profile");
  EXPECT_EQ(g->subject_id, "user-1");

  auto l = v.ListRecords(t->admin, "user-1", "account");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].record_id, "prefs");
  EXPECT_EQ((*l)[1].record_id, "profile");

  auto sum = v.GetSubject(t->admin, "user-1");
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->records_by_category.at("account"), 2u);
  EXPECT_EQ(sum->records_by_category.at("billing"), 0u);
  EXPECT_EQ(sum->state, SubjectState::kActive);

  ASSERT_TRUE(v.DeleteRecord(t->admin, "user-1", "account", "profile").ok());
  EXPECT_EQ(v.GetRecord(t->admin, "user-1", "account", "profile").status().code(), Code::kNotFound);
  // The survivor of the scope was re-encrypted under a new DEK and still reads.
  auto prefs = v.GetRecord(t->admin, "user-1", "account", "prefs");
  ASSERT_TRUE(prefs.ok()) << prefs.status().ToString();
  EXPECT_EQ(prefs->data["theme"], "dark");
  EXPECT_EQ(v.Stats()->keys_shredded, 1u);
  EXPECT_EQ(v.DeleteRecord(t->admin, "user-1", "account", "profile").code(), Code::kNotFound);
  EXPECT_EQ(v.GetRecord(t->admin, "nobody", "account", "x").status().code(), Code::kNotFound);
}

TEST(RecordsTest, RetentionIsComputedFromEventAndRoundedToTheDay) {
  auto t = TestVault::Make("retain");
  const auto event = *ParseRfc3339("2026-03-15T10:00:00Z");
  auto r = t->vault->PutRecord(t->admin, "u", "billing", "inv-1", json{{"amount", 12}}, event);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(FormatRfc3339(r->retain_until), "2033-03-16T00:00:00Z");
  auto old = t->vault->PutRecord(t->admin, "u", "billing", "inv-0", json{{"a", 1}},
                                 *ParseRfc3339("2010-01-01T00:00:00Z"));
  EXPECT_EQ(old.status().code(), Code::kPolicyViolation);
  auto far = t->vault->PutRecord(t->admin, "u", "billing", "inv-far", json{{"a", 1}},
                                 *ParseRfc3339("9998-06-01T00:00:00Z"));
  EXPECT_EQ(far.status().code(), Code::kInvalidArgument);
}

TEST(RecordsTest, CiphertextMovedToAnotherSubjectFailsToDecrypt) {
  auto t = TestVault::Make("swap");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "alice", "account", "p", json{{"v", "A"}}).ok());
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "bob", "account", "p", json{{"v", "B"}}).ok());
  t->vault.reset();
  ForEachRaw(t->dir + "/data/store", [](MDB_txn* txn, MDB_dbi dbi, const std::string& name) {
    if (name != "records") return;
    auto rows = AllEntries(txn, dbi);
    ASSERT_EQ(rows.size(), 2u);
    MDB_val k0{rows[0].first.size(), rows[0].first.data()},
        v1{rows[1].second.size(), rows[1].second.data()};
    MDB_val k1{rows[1].first.size(), rows[1].first.data()},
        v0{rows[0].second.size(), rows[0].second.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k0, &v1, 0), 0);
    ASSERT_EQ(mdb_put(txn, dbi, &k1, &v0, 0), 0);
  });
  t->Reopen();
  EXPECT_EQ(t->vault->GetRecord(t->admin, "alice", "account", "p").status().code(),
            Code::kDataLoss);
  EXPECT_EQ(t->vault->GetRecord(t->admin, "bob", "account", "p").status().code(), Code::kDataLoss);
}

TEST(RecordsTest, CorruptedCiphertextIsDataLossNotACrash) {
  auto t = TestVault::Make("corrupt");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "alice", "account", "p", json{{"v", "A"}}).ok());
  t->vault.reset();
  ForEachRaw(t->dir + "/data/store", [](MDB_txn* txn, MDB_dbi dbi, const std::string& name) {
    if (name != "records") return;
    auto rows = AllEntries(txn, dbi);
    ASSERT_EQ(rows.size(), 1u);
    std::string val = rows[0].second;
    val[val.size() - 5] ^= 0x40;
    MDB_val k{rows[0].first.size(), rows[0].first.data()}, v{val.size(), val.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  });
  t->Reopen();
  auto g = t->vault->GetRecord(t->admin, "alice", "account", "p");
  EXPECT_EQ(g.status().code(), Code::kDataLoss);
  EXPECT_EQ(g.status().message().find("\"A\""), std::string::npos);
}

TEST(BadInputTest, RefusedWithClearErrorsAndNothingWritten) {
  auto t = TestVault::Make("bad");
  auto& v = *t->vault;
  const json d = {{"x", 1}};
  for (const std::string& id : std::vector<std::string>{"", "a/b", "..", std::string("a\0b", 3),
                                                        std::string(129, 'a'), "sp ace"}) {
    EXPECT_EQ(v.PutRecord(t->admin, id, "account", "r", d).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(v.PutRecord(t->admin, "ok", "account", id, d).status().code(),
              Code::kInvalidArgument);
  }
  EXPECT_EQ(v.PutRecord(t->admin, "ok", "nope", "r", d).status().code(), Code::kPolicyViolation);
  EXPECT_EQ(v.PutRecord(t->admin, "ok", "account", "r", json::array()).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(v.PutRecord(t->admin, "ok", "account", "r", json{{"big", std::string(300000, 'x')}})
                .status()
                .code(),
            Code::kTooLarge);
  EXPECT_EQ(v.RequestErasure(t->dpo, "ok", "sometimes", "").status().code(),
            Code::kInvalidArgument);
  auto st = v.Stats();
  EXPECT_EQ(st->subjects, 0u);
  EXPECT_EQ(st->records, 0u);
  EXPECT_EQ(st->keys_live, 0u);
}

TEST(BadInputTest, KeyringOfAnotherStoreOrWrongRootKeyIsRefused) {
  auto a = TestVault::Make("a");
  auto b = TestVault::Make("b");
  a->vault.reset();
  b->vault.reset();
  // Wrong root key for a's keyring.
  Options o = a->Opts();
  o.root_key = b->root;
  auto r = Vault::Open(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("another root key"), std::string::npos);
  // b's keyring (with b's root key) next to a's store.
  std::filesystem::copy_file(b->dir + "/data/keyring", a->dir + "/data/keyring",
                             std::filesystem::copy_options::overwrite_existing);
  auto r2 = Vault::Open(o);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("does not belong to this store"), std::string::npos);
}

TEST(BadInputTest, RootKeyFileReadableByOthersIsRefused) {
  auto t = TestVault::Make("perm");
  t->vault.reset();
  std::filesystem::permissions(t->dir + "/root.key", std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  auto r = Vault::Open(t->Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("chmod 600"), std::string::npos);
}

// Scans raw bytes for wrapped-key envelopes and returns the ids of every DEK that any of the
// given KEKs opens: what an attacker holding those KEKs recovers from the file.
std::set<std::string> RecoverableKeyIds(const std::string& bytes,
                                        const std::map<std::uint64_t, crypto::SecretBytes>& keks) {
  std::set<std::string> ids;
  const std::size_t wrapped_size = crypto::EnvelopeOverhead(crypto::Aead::kXChaCha20Poly1305) + 32;
  for (std::size_t i = 0; i + wrapped_size <= bytes.size(); ++i) {
    if (bytes[i] != 'V' || bytes[i + 1] != 'K' || bytes[i + 2] != 1) continue;
    auto env = std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()) + i, wrapped_size);
    for (const auto& [epoch, kek] : keks) {
      crypto::SecretBytes dek;
      if (crypto::OpenSecret(crypto::EnvelopeKind::kWrappedKey, kek, env,
                             Keyring::DekWrapContext(epoch), &dek)) {
        ids.insert(crypto::ToHex(crypto::PeekEnvelope(env)->key_id));
      }
    }
  }
  return ids;
}

TEST(ErasureTest, ImmediateErasureDestroysKeysInTheLiveFileAndSignsAReceipt) {
  auto t = TestVault::Make("erase");
  auto& v = *t->vault;
  for (int i = 0; i < 20; ++i) {
    const std::string sid = "subject-" + std::to_string(i);
    ASSERT_TRUE(
        v.PutRecord(t->admin, sid, "account", "profile", json{{"email", sid + "@example.com"}})
            .ok());
    ASSERT_TRUE(v.PutRecord(t->admin, sid, "billing", "inv", json{{"amount", i}}).ok());
    ASSERT_TRUE(v.PutRecord(t->admin, sid, "usage", "u1", json{{"clicks", i}}).ok());
  }
  // Churn so the victim's key rows get copied around by LMDB's copy-on-write.
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(
        v.PutRecord(t->admin, "subject-7", "account", "profile", json{{"round", round}}).ok());
    ASSERT_TRUE(v.RotateEpoch(t->admin).ok());
  }
  auto e = v.RequestErasure(t->dpo, "subject-7", "immediate", "user asked");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->state, "completed");
  const json& receipt = e->receipt;
  ASSERT_TRUE(receipt.is_object());
  std::set<std::string> shredded;
  std::set<std::string> shredded_categories;
  for (const auto& s : receipt["shredded"]) {
    shredded_categories.insert(s["category"]);
    for (const auto& id : s["key_ids"]) shredded.insert(id);
  }
  EXPECT_EQ(shredded_categories, (std::set<std::string>{"_subject", "account", "usage"}));
  ASSERT_EQ(receipt["retained"].size(), 1u);
  EXPECT_EQ(receipt["retained"][0]["category"], "billing");
  EXPECT_EQ(receipt["retained"][0]["legal_basis"], "legal_obligation");

  // Through the engine.
  EXPECT_EQ(v.GetRecord(t->admin, "subject-7", "account", "profile").status().code(), Code::kGone);
  EXPECT_EQ(v.GetRecord(t->admin, "subject-7", "billing", "inv").status().code(), Code::kGone);
  auto billing = v.GetRecord(t->dpo, "subject-7", "billing", "inv", ReadOptions{true});
  ASSERT_TRUE(billing.ok()) << billing.status().ToString();
  EXPECT_EQ(billing->data["amount"], 7);
  EXPECT_EQ(
      v.GetRecord(t->dpo, "subject-7", "account", "profile", ReadOptions{true}).status().code(),
      Code::kGone);
  EXPECT_EQ(v.GetSubject(t->admin, "subject-7")->state, SubjectState::kErased);
  EXPECT_EQ(v.PutRecord(t->admin, "subject-7", "account", "x", json::object()).status().code(),
            Code::kGone);
  EXPECT_EQ(v.RequestErasure(t->dpo, "subject-7", "immediate", "").status().code(), Code::kGone);

  // The receipt verifies offline with the public key alone; any change breaks it.
  const auto pk = v.ReceiptKey();
  EXPECT_EQ(receipt["key_id"], pk.key_id);
  EXPECT_TRUE(Vault::VerifyReceipt(receipt, pk.public_key_base64));
  for (const auto& [field, _] : receipt.items()) {
    if (field == "signature") continue;
    json tampered = receipt;
    tampered[field] = field == "shredded" ? json::array() : json("x");
    EXPECT_FALSE(Vault::VerifyReceipt(tampered, pk.public_key_base64)) << field;
  }
  EXPECT_TRUE(v.GetErasure(e->erasure_id)->receipt == receipt);

  // Forensics on the live file: every KEK the vault still holds, against every wrapped-key
  // shaped blob anywhere in the data file, free pages included.
  t->vault.reset();
  auto root = t->root->Load();
  auto keyring = Keyring::Open(t->dir + "/data/keyring", std::move(root).value());
  ASSERT_TRUE(keyring.ok());
  const auto recovered = RecoverableKeyIds(testing::ReadFile(t->dir + "/data/store/data.mdb") +
                                               testing::ReadFile(t->dir + "/data/keyslots"),
                                           (*keyring)->CopyLiveKeks());
  EXPECT_GE(recovered.size(), 19u * 3);  // the other subjects' keys are there: the scan works
  for (const auto& id : shredded)
    EXPECT_EQ(recovered.count(id), 0u) << "recovered shredded key " << id;
}

TEST(ErasureTest, GraceCancelRestoresEverything) {
  auto t = TestVault::Make("grace");
  auto& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  auto e = v.RequestErasure(t->dpo, "u", "grace", "");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->state, "scheduled");
  EXPECT_EQ(e->execute_at - e->requested_at, 31 * 86400);
  EXPECT_EQ(v.GetRecord(t->admin, "u", "account", "p").status().code(), Code::kGone);
  EXPECT_EQ(v.RequestErasure(t->dpo, "u", "grace", "").status().code(), Code::kConflict);
  // Thirty days later, the sweeper leaves it alone.
  t->clock->Advance(30 * 86400);
  ASSERT_TRUE(v.Sweep(t->admin).ok());
  auto c = v.CancelErasure(t->dpo, "u");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->state, "cancelled");
  EXPECT_EQ(v.GetRecord(t->admin, "u", "account", "p")->data["a"], 1);
  EXPECT_EQ(v.CancelErasure(t->dpo, "u").status().code(), Code::kNotFound);
  // A second request runs when its grace has passed; then cancel is a conflict.
  ASSERT_TRUE(v.RequestErasure(t->dpo, "u", "grace", "").ok());
  t->clock->Advance(31 * 86400 + 1);
  auto sw = v.Sweep(t->admin);
  ASSERT_TRUE(sw.ok());
  EXPECT_EQ(sw->erasures_executed, 1u);
  EXPECT_EQ(v.GetSubject(t->admin, "u")->state, SubjectState::kErased);
  EXPECT_EQ(v.CancelErasure(t->dpo, "u").status().code(), Code::kConflict);
}

TEST(ErasureTest, LegalHoldBlocksUntilReleased) {
  auto t = TestVault::Make("hold");
  auto& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  auto h = v.PlaceLegalHold(t->dpo, "u", "litigation 2026-17", std::nullopt);
  ASSERT_TRUE(h.ok());
  // Deleting a record would destroy its scope's key: the hold refuses that too.
  EXPECT_EQ(v.DeleteRecord(t->dpo, "u", "account", "p").code(), Code::kLocked);
  auto e = v.RequestErasure(t->dpo, "u", "immediate", "");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->state, "scheduled");
  EXPECT_TRUE(e->blocked_by_hold);
  ASSERT_TRUE(v.Sweep(t->admin).ok());
  auto sum = v.GetSubject(t->admin, "u");
  EXPECT_EQ(sum->state, SubjectState::kErasurePending);
  ASSERT_EQ(sum->legal_holds.size(), 1u);
  EXPECT_EQ(sum->legal_holds[0].reason, "litigation 2026-17");
  EXPECT_TRUE(sum->erasure->blocked_by_hold);
  // Data is still there for the hold (privileged read of a non-surviving category is 410,
  // but the key exists).
  EXPECT_EQ(v.Stats()->keys_shredded, 0u);
  ASSERT_TRUE(v.ReleaseLegalHold(t->dpo, "u", h->hold_id).ok());
  EXPECT_EQ(v.ReleaseLegalHold(t->dpo, "u", h->hold_id).code(), Code::kNotFound);
  auto sw = v.Sweep(t->admin);
  ASSERT_TRUE(sw.ok());
  EXPECT_EQ(sw->erasures_executed, 1u);
  auto done = v.GetErasure(e->erasure_id);
  EXPECT_EQ(done->state, "completed");
  EXPECT_EQ(done->receipt["delayed_by_legal_hold"], true);
}

TEST(RetentionTest, SweepShredsExactlyTheExpiredData) {
  auto t = TestVault::Make("retention");
  auto& v = *t->vault;
  const UnixSeconds now = t->clock->Now();
  // Invoice from 7 years minus 10 days ago expires in ~10 days; a newer one does not.
  const UnixSeconds old_event = now - 7 * 365 * 86400 + 20 * 86400;
  auto r_old = v.PutRecord(t->admin, "u", "billing", "old", json{{"n", 1}}, old_event);
  ASSERT_TRUE(r_old.ok()) << r_old.status().ToString();
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "billing", "new", json{{"n", 2}}, now).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"n", 3}}).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "usage", "ev", json{{"n", 4}}).ok());

  t->clock->Set(r_old->retain_until - 1);
  ASSERT_EQ(v.Sweep(t->admin)->scopes_shredded, 0u);
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "billing", "old").ok());

  t->clock->Set(r_old->retain_until);
  auto sw = v.Sweep(t->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_EQ(sw->scopes_shredded, 1u);
  EXPECT_EQ(sw->records_collected, 1u);
  EXPECT_EQ(v.GetRecord(t->admin, "u", "billing", "old").status().code(), Code::kNotFound);
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "billing", "new").ok());
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "account", "p").ok());
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "usage", "ev").ok());

  // Twelve months on, usage goes too; account (until erasure) stays.
  t->clock->Set(now + 366 * 86400);
  ASSERT_TRUE(v.Sweep(t->admin).ok());
  EXPECT_EQ(v.GetRecord(t->admin, "u", "usage", "ev").status().code(), Code::kNotFound);
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "account", "p").ok());
}

TEST(RetentionTest, LegalHoldSuspendsRetention) {
  auto t = TestVault::Make("retention-hold");
  auto& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "usage", "ev", json{{"n", 4}}).ok());
  ASSERT_TRUE(v.PlaceLegalHold(t->dpo, "u", "audit", std::nullopt).ok());
  t->clock->Advance(400 * 86400);
  ASSERT_TRUE(v.Sweep(t->admin).ok());
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "usage", "ev").ok());
}

TEST(NoPlaintextTest, NoMarkerOrSubjectIdInAnyFile) {
  auto t = TestVault::Make("markers");
  std::vector<std::string> markers;
  for (int i = 0; i < 10; ++i) {
    const std::string sid = "SUBJECTMARKER" + std::to_string(1000 + i);
    const std::string value = "VALUEMARKER" + std::to_string(1000 + i);
    markers.push_back(sid);
    markers.push_back(value);
    ASSERT_TRUE(t->vault
                    ->PutRecord(t->admin, sid, "account", "profile",
                                json{{"email", value + "@x.io"}, {"name", value}})
                    .ok());
    ASSERT_TRUE(t->vault
                    ->PutRecord(t->admin, sid, "billing", "RIDMARKER" + std::to_string(i),
                                json{{"iban", value}})
                    .ok());
    markers.push_back("RIDMARKER" + std::to_string(i));
  }
  ASSERT_TRUE(
      t->vault->PlaceLegalHold(t->dpo, "SUBJECTMARKER1000", "HOLDMARKER reason", std::nullopt)
          .ok());
  markers.push_back("HOLDMARKER");
  ASSERT_TRUE(
      t->vault->RequestErasure(t->dpo, "SUBJECTMARKER1001", "immediate", "ERASEMARKER").ok());
  markers.push_back("ERASEMARKER");
  ASSERT_TRUE(t->vault->CreateToken(t->admin, Role::kApp, {"service"}, "TOKENMARKER").ok());
  markers.push_back("TOKENMARKER");
  ASSERT_TRUE(t->vault->Backup(t->dir + "/backup").ok());
  t->vault.reset();
  EXPECT_EQ(testing::FindMarkers(t->dir, markers), std::vector<std::string>{});
}

TEST(RotationTest, RewrapsEveryKeyAndDestroysEpochsPastTheHorizon) {
  auto t = TestVault::Make("rotate", kShortHorizonPolicy);
  auto& v = *t->vault;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(
        v.PutRecord(t->admin, "u" + std::to_string(i), "account", "p", json{{"i", i}}).ok());
  }
  const auto keys = v.Stats()->keys_live;
  std::uint64_t last_done = 0;
  auto r = v.RotateEpoch(t->admin, [&](std::uint64_t done, std::uint64_t) { last_done = done; });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->epoch, 2u);
  EXPECT_EQ(r->rewrapped, keys);
  EXPECT_EQ(last_done, keys);
  EXPECT_EQ(r->destroyed_epochs, std::vector<std::uint64_t>{1});  // horizon 0d
  t->Reopen();
  for (int i = 0; i < 50; ++i) {
    auto g = t->vault->GetRecord(t->admin, "u" + std::to_string(i), "account", "p");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(g->data["i"], i);
  }
  EXPECT_EQ(t->vault->Stats()->epoch, 2u);
}

TEST(RotationTest, SweeperRotatesWhenTheEpochIsOld) {
  auto t = TestVault::Make("auto-rotate");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "p", json{{"i", 1}}).ok());
  ASSERT_FALSE(t->vault->Sweep(t->admin)->epoch_rotated);
  t->clock->Advance(86400);
  auto sw = t->vault->Sweep(t->admin);
  ASSERT_TRUE(sw.ok());
  EXPECT_TRUE(sw->epoch_rotated);
  EXPECT_TRUE(sw->destroyed_epochs.empty());  // horizon 31d
  t->clock->Advance(32 * 86400);
  sw = t->vault->Sweep(t->admin);
  EXPECT_EQ(sw->destroyed_epochs, std::vector<std::uint64_t>{1});
  EXPECT_TRUE(t->vault->GetRecord(t->admin, "u", "account", "p").ok());
}

TEST(TokensTest, CreateAuthenticateRevoke) {
  auto t = TestVault::Make("tokens");
  auto& v = *t->vault;
  auto tok = v.CreateToken(t->admin, Role::kApp, {"service", "billing"}, "backend");
  ASSERT_TRUE(tok.ok());
  auto info = v.Authenticate(tok->secret);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->role, Role::kApp);
  EXPECT_EQ(info->purposes, (std::vector<std::string>{"service", "billing"}));
  EXPECT_EQ(tok->info.name, "backend");
  std::string wrong = tok->secret;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(v.Authenticate(wrong).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(v.Authenticate("garbage").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(v.CreateToken(t->admin, Role::kApp, {}, "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(v.CreateToken(t->admin, Role::kDpo, {"x"}, "").status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(v.RevokeToken(t->admin, tok->info.token_id).ok());
  EXPECT_EQ(v.Authenticate(tok->secret).status().code(), Code::kUnauthenticated);
}

TEST(RecordsTest, DataAsTextIsTheStoredJsonOfTheSameRecord) {
  auto t = TestVault::Make("astext");
  auto& v = *t->vault;
  const json data = {
      {"name", "Zo\u00eb \"Q\""}, {"n", {1, 2.5, nullptr}}, {"nested", {{"a", true}}}};
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", data).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "q", json::object()).ok());
  ReadOptions text;
  text.data_as_text = true;
  auto g = v.GetRecord(t->admin, "u", "account", "p", text);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(g->data.is_null());
  EXPECT_EQ(json::parse(g->data_json), data);
  auto l = v.ListRecords(t->admin, "u", "account", text);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ(json::parse((*l)[0].data_json), data);
  EXPECT_EQ((*l)[1].data_json, "{}");
  auto parsed = v.GetRecord(t->admin, "u", "account", "p");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->data, data);
  EXPECT_TRUE(parsed->data_json.empty());
}

TEST(RecordsTest, EveryReadSeesTheLatestCommittedWrite) {
  // Read transactions are pooled and renewed: a renewed one must see the newest snapshot.
  auto t = TestVault::Make("fresh");
  auto& v = *t->vault;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"i", i}}).ok());
    auto g = v.GetRecord(t->admin, "u", "account", "p");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    ASSERT_EQ(g->data["i"], i);
    ASSERT_EQ(g->version, static_cast<std::uint64_t>(i + 1));
  }
}

TEST(AuditTest, ReadsAreListedWithoutWaitingForTheirCommit) {
  auto t = TestVault::Make("auditreads");
  auto& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(v.GetRecord(t->admin, "u", "account", "p").ok());
  // Read entries are committed asynchronously, in batches; listing flushes them first.
  auto entries = v.ListAudit(0, 100);
  ASSERT_TRUE(entries.ok());
  int gets = 0;
  for (const auto& e : *entries) gets += e.action == "record.get" ? 1 : 0;
  EXPECT_EQ(gets, 3);
  auto ok = v.VerifyAudit();
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->ok);
}

TEST(AuditTest, ChainVerifiesAndTamperingIsFound) {
  auto t = TestVault::Make("audit");
  auto& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  ASSERT_TRUE(v.GetRecord(t->admin, "u", "account", "p").ok());
  ASSERT_TRUE(v.RequestErasure(t->dpo, "u", "immediate", "").ok());
  t->Reopen();  // flushes the asynchronous read entries
  auto entries = t->vault->ListAudit(0, 100);
  ASSERT_TRUE(entries.ok());
  std::vector<std::string> actions;
  for (const auto& e : *entries) actions.push_back(e.action);
  for (const char* a : {"record.put", "record.get", "erasure.request", "erasure.execute"}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), a), actions.end()) << a;
  }
  auto ok = t->vault->VerifyAudit();
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(ok->entries, entries->size());
  t->vault.reset();
  ForEachRaw(t->dir + "/data/store", [](MDB_txn* txn, MDB_dbi dbi, const std::string& name) {
    if (name != "audit") return;
    auto rows = AllEntries(txn, dbi);
    ASSERT_GE(rows.size(), 3u);
    std::string val = rows[1].second;
    val[17] ^= 1;  // change one letter of entry 2's actor
    MDB_val k{rows[1].first.size(), rows[1].first.data()}, nv{val.size(), val.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &nv, 0), 0);
  });
  t->Reopen();
  auto bad = t->vault->VerifyAudit();
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->ok);
  EXPECT_EQ(bad->first_bad_seq, 2u);
}

TEST(ConcurrencyTest, ConcurrentWritersShareCommitsAndAllLand) {
  auto t = TestVault::Make("concurrent");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int th = 0; th < 8; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < 50; ++i) {
        if (!t->vault
                 ->PutRecord(t->admin, "s" + std::to_string(th), "account", "r" + std::to_string(i),
                             json{{"i", i}})
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  for (int th = 0; th < 8; ++th) {
    EXPECT_EQ(t->vault->ListRecords(t->admin, "s" + std::to_string(th), "account")->size(), 50u);
  }
}

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
    EXPECT_EQ((*rv)->GetRecord(t->admin, "u", "account", "p")->data["a"], 1);
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

}  // namespace
}  // namespace vault

namespace vault {
namespace {

// A crash between starting an epoch and finishing the rewrap: the keyring is ahead of the
// store and the pending flag is set. Opening the store finishes the job.
TEST(RotationTest, InterruptedRotationIsResumedOnOpen) {
  auto t = TestVault::Make("resume");
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(
        t->vault->PutRecord(t->admin, "u" + std::to_string(i), "account", "p", json{{"i", i}})
            .ok());
  }
  t->vault.reset();
  {
    auto keyring = Keyring::Open(t->dir + "/data/keyring", std::move(t->root->Load()).value());
    ASSERT_TRUE(keyring.ok());
    ASSERT_EQ(*(*keyring)->StartEpoch(t->clock->Now()), 2u);
  }
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 16);
  ASSERT_EQ(mdb_env_open(env, (t->dir + "/data/store").c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi meta;
  ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
  std::string key = "rewrap_pending", one(7, '\0');
  one.push_back('\1');
  MDB_val k{key.size(), key.data()}, v{one.size(), one.data()};
  ASSERT_EQ(mdb_put(txn, meta, &k, &v, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);

  t->Reopen();
  EXPECT_EQ(t->vault->Stats()->epoch, 2u);
  // Every key now sits under epoch 2: destroying epoch 1 loses nothing.
  t->clock->Advance(40 * 86400);
  auto sw = t->vault->Sweep(t->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_NE(std::find(sw->destroyed_epochs.begin(), sw->destroyed_epochs.end(), 1u),
            sw->destroyed_epochs.end());
  for (int i = 0; i < 30; ++i) {
    auto g = t->vault->GetRecord(t->admin, "u" + std::to_string(i), "account", "p");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
  }
}

}  // namespace
}  // namespace vault

namespace vault {
namespace {

// Failing writes share batches with good ones: each failure must leave no trace (a unique
// clash fails after the record row was written) and must not undo the good writes.
TEST(ConcurrencyTest, FailingWritesInABatchUndoNothingElse) {
  auto t = TestVault::Make("batch-failures");
  ASSERT_TRUE(
      t->vault->PutRecord(t->admin, "owner", "account", "p", json{{"email", "taken@x.io"}}).ok());
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "erased", "account", "p", json{{"a", 1}}).ok());
  ASSERT_TRUE(t->vault->RequestErasure(t->dpo, "erased", "immediate", "").ok());
  const auto before = t->vault->Stats()->records;
  std::atomic<int> good{0}, clashes{0}, gone{0}, other{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < 8; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < 40; ++i) {
        Status s;
        switch ((th + i) % 3) {
          case 0:
            s = t->vault
                    ->PutRecord(t->admin, "w" + std::to_string(th), "account",
                                "r" + std::to_string(i), json{{"i", i}})
                    .status();
            if (s.ok())
              ++good;
            else
              ++other;
            break;
          case 1:
            s = t->vault
                    ->PutRecord(t->admin, "thief" + std::to_string(th * 100 + i), "account", "p",
                                json{{"email", "TAKEN@x.io "}})
                    .status();
            if (s.code() == Code::kConflict)
              ++clashes;
            else
              ++other;
            break;
          default:
            s = t->vault->PutRecord(t->admin, "erased", "account", "x", json{{"i", i}}).status();
            if (s.code() == Code::kGone)
              ++gone;
            else
              ++other;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(other, 0);
  EXPECT_GT(clashes, 0);
  EXPECT_GT(gone, 0);
  // Exactly the good writes landed: no clashing record (nor its subject's key) was kept.
  EXPECT_EQ(t->vault->Stats()->records, before + static_cast<std::uint64_t>(good.load()));
  EXPECT_EQ(t->vault->Stats()->subjects, 2u + 8u);  // owner, erased, w0..w7: no thief
  EXPECT_EQ(t->vault->GetRecord(t->admin, "thief1", "account", "p").status().code(),
            Code::kNotFound);
  EXPECT_EQ(t->vault->GetRecord(t->admin, "owner", "account", "p")->data["email"], "taken@x.io");
  // Every put, landed or refused, left exactly one entry, and the chain is whole: the audit
  // tail kept across a batch is reset when a failure re-runs the batch's prefix.
  auto entries = t->vault->ListAudit(0, 1000);
  ASSERT_TRUE(entries.ok());
  int puts = 0;
  for (const auto& e : *entries) puts += e.action == "record.put" ? 1 : 0;
  EXPECT_EQ(puts, 2 + 8 * 40);
  auto chain = t->vault->VerifyAudit();
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->ok) << "first bad entry " << chain->first_bad_seq.value_or(0);
  EXPECT_EQ(chain->entries, entries->size());
}

}  // namespace
}  // namespace vault

namespace vault {
namespace {

// Writes keep going while a rotation rewraps in steps; every DEK created meanwhile must end
// up under the new epoch, so destroying the old one (horizon 0d) loses nothing.
TEST(RotationTest, WritesDuringARotationSurviveTheOldEpochsDestruction) {
  auto t = TestVault::Make("rotate-live", kShortHorizonPolicy);
  t->vault.reset();
  Options o = t->Opts();
  o.rewrap_batch = 7;  // many small steps, so writes interleave with them
  t->vault = std::move(Vault::Open(o)).value();
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(
        t->vault->PutRecord(t->admin, "pre" + std::to_string(i), "account", "p", json{{"i", i}})
            .ok());
  }
  std::atomic<bool> rotating{true};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; rotating || i < 20; ++i) {
      if (t->vault->PutRecord(t->admin, "live" + std::to_string(i), "account", "p", json{{"i", i}})
              .ok())
        ++written;
    }
  });
  for (int r = 0; r < 3; ++r) {
    auto rot = t->vault->RotateEpoch(t->admin);
    ASSERT_TRUE(rot.ok()) << rot.status().ToString();
    EXPECT_FALSE(rot->destroyed_epochs.empty());
  }
  rotating = false;
  writer.join();
  t->Reopen();
  auto st = t->vault->Stats();
  EXPECT_EQ(st->epoch, 4u);
  for (int i = 0; i < 60; ++i) {
    EXPECT_TRUE(t->vault->GetRecord(t->admin, "pre" + std::to_string(i), "account", "p").ok()) << i;
  }
  for (int i = 0; i < written; ++i) {
    auto g = t->vault->GetRecord(t->admin, "live" + std::to_string(i), "account", "p");
    EXPECT_TRUE(g.ok()) << i << ": " << g.status().ToString();
  }
}

}  // namespace
}  // namespace vault
