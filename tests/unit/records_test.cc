// Records: put, get, list, delete, retention times, binding of ciphertext to its row, bad input,
// and no personal data in clear in any file.
#include <gtest/gtest.h>

#include <utility>

#include "test_util.h"
#include "vault/testing.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

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
  EXPECT_EQ(testing::Data(*g)["name"], "Ada L.");
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
  EXPECT_EQ(testing::Data(*prefs)["theme"], "dark");
  EXPECT_EQ(v.Stats()->keys_shredded, 2u);  // the key of the overwritten version, then this one
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
  ASSERT_TRUE(TEST_EditTable(t->dir + "/data", Table::kRecords, [](TEST_Rows& rows) {
                ASSERT_EQ(rows.size(), 2u);
                std::swap(rows[0].second, rows[1].second);
              }).ok());
  t->Reopen();
  EXPECT_EQ(t->vault->GetRecord(t->admin, "alice", "account", "p").status().code(),
            Code::kDataLoss);
  EXPECT_EQ(t->vault->GetRecord(t->admin, "bob", "account", "p").status().code(), Code::kDataLoss);
}

TEST(RecordsTest, CorruptedCiphertextIsDataLossNotACrash) {
  auto t = TestVault::Make("corrupt");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "alice", "account", "p", json{{"v", "A"}}).ok());
  t->vault.reset();
  ASSERT_TRUE(TEST_EditTable(t->dir + "/data", Table::kRecords, [](TEST_Rows& rows) {
                ASSERT_EQ(rows.size(), 1u);
                std::string& val = rows[0].second;
                val[val.size() - 5] ^= 0x40;
              }).ok());
  t->Reopen();
  auto g = t->vault->GetRecord(t->admin, "alice", "account", "p");
  EXPECT_EQ(g.status().code(), Code::kDataLoss);
  EXPECT_EQ(g.status().message().find("\"A\""), std::string::npos);
}

TEST(RecordsTest, DataAsTextIsTheStoredJsonOfTheSameRecord) {
  auto t = TestVault::Make("astext");
  auto& v = *t->vault;
  const json data = {
      {"name", "Zo\u00eb \"Q\""}, {"n", {1, 2.5, nullptr}}, {"nested", {{"a", true}}}};
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", data).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "q", json::object()).ok());
  auto g = v.GetRecord(t->admin, "u", "account", "p");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->data_json, data.dump());  // compact, as stored
  EXPECT_EQ(json::parse(g->data_json), data);
  auto l = v.ListRecords(t->admin, "u", "account");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ(json::parse((*l)[0].data_json), data);
  EXPECT_EQ((*l)[1].data_json, "{}");
  auto privileged = v.GetRecord(t->dpo, "u", "account", "p", ReadOptions{true});
  ASSERT_TRUE(privileged.ok());
  EXPECT_EQ(privileged->data_json, g->data_json);
}

TEST(RecordsTest, EveryReadSeesTheLatestCommittedWrite) {
  // Read transactions are pooled and renewed: a renewed one must see the newest snapshot.
  auto t = TestVault::Make("fresh");
  auto& v = *t->vault;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"i", i}}).ok());
    auto g = v.GetRecord(t->admin, "u", "account", "p");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    ASSERT_EQ(testing::Data(*g)["i"], i);
    ASSERT_EQ(g->version, static_cast<std::uint64_t>(i + 1));
  }
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

}  // namespace
}  // namespace vault
