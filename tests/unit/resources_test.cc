// Bounded resources in the engine: record lists in pages, the per-writer storage quota, and a
// full store (kUnavailable, nothing written).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "test_util.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

TEST(ResourcesTest, PagesCoverEveryRecordOnceInAStableOrder) {
  auto t = TestVault::Make("pages");
  auto& v = *t->vault;
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(
        v.PutRecord(t->admin, "u", "account", "r" + std::to_string(i), json{{"i", i}}).ok());
  }
  ASSERT_TRUE(v.PutRecord(t->admin, "other", "account", "x", json{{"i", 0}}).ok());
  std::set<std::string> seen;
  std::vector<std::string> order;
  PageRequest page{10, ""};
  int pages = 0;
  for (;;) {
    auto p = v.ListRecords(t->admin, "u", "account", page);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ++pages;
    for (const RecordView& r : p->records) {
      EXPECT_EQ(r.subject_id, "u");
      seen.insert(r.record_id);
      order.push_back(r.record_id);
    }
    if (!p->next) break;
    page.after = *p->next;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 25u);
  EXPECT_EQ(order.size(), 25u);
  auto again = v.ListRecords(t->admin, "u", "account", PageRequest{25, ""});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->next.has_value());
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(again->records[i].record_id, order[i]);
}

TEST(ResourcesTest, BadLimitsAndCursorsAreInvalidArguments) {
  auto t = TestVault::Make("badpages");
  auto& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "r", json{{"i", 1}}).ok());
  for (const PageRequest& p :
       {PageRequest{0, ""}, PageRequest{kMaxPageLimit + 1, ""}, PageRequest{10, "AAAA"},
        PageRequest{10, "not base64!"}, PageRequest{10, std::string(23, 'A')}}) {
    auto r = v.ListRecords(t->admin, "u", "account", p);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << p.limit << " " << p.after;
  }
}

TEST(ResourcesTest, AQuotaRefusesGrowthPastItAndWritesNothing) {
  auto t = TestVault::Make("quota");
  t->vault.reset();
  Options o = t->Opts();
  o.quota_bytes = 3000;
  auto opened = Vault::Open(o);
  ASSERT_TRUE(opened.ok());
  t->vault = std::move(opened).value();
  auto& v = *t->vault;
  const json data = {{"blob", std::string(1000, 'q')}};
  const Actor app{"tok-a", Role::kApp};
  ASSERT_TRUE(v.PutRecord(app, "u", "account", "r1", data).ok());
  ASSERT_TRUE(v.PutRecord(app, "u", "account", "r2", data).ok());
  auto over = v.PutRecord(app, "u", "account", "r3", data);
  EXPECT_EQ(over.status().code(), Code::kThrottled);
  EXPECT_EQ(v.GetRecord(t->admin, "u", "account", "r3").status().code(), Code::kNotFound);
  // A new subject's write past the quota creates no subject either.
  EXPECT_EQ(v.PutRecord(app, "fresh", "account", "r", data).status().code(), Code::kThrottled);
  EXPECT_EQ(v.GetSubject(t->admin, "fresh").status().code(), Code::kNotFound);
  EXPECT_TRUE(v.PutRecord(app, "u", "account", "r1", json{{"blob", "small"}}).ok());
  EXPECT_TRUE(v.PutRecord(app, "u", "account", "r3", data).ok());
  // The counter survives a reopen.
  t->vault.reset();
  t->vault = std::move(Vault::Open(o)).value();
  EXPECT_EQ(t->vault->PutRecord(app, "u", "account", "r4", data).status().code(), Code::kThrottled);
  EXPECT_TRUE(t->vault->DeleteRecord(app, "u", "account", "r2").ok());
  EXPECT_TRUE(t->vault->PutRecord(app, "u", "account", "r4", data).ok());
}

TEST(ResourcesTest, AFullMapIsUnavailableAndKeepsWhatWasCommitted) {
  auto t = TestVault::Make("fullmap");
  t->vault.reset();
  Options o = t->Opts();
  o.map_size_bytes = 1 << 20;
  auto opened = Vault::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  t->vault = std::move(opened).value();
  auto& v = *t->vault;
  const json data = {{"blob", std::string(16 * 1024, 'f')}};
  int stored = 0;
  Status failed;
  for (; stored < 200; ++stored) {
    auto r = v.PutRecord(t->admin, "u", "account", "r" + std::to_string(stored), data);
    if (!r.ok()) {
      failed = r.status();
      break;
    }
  }
  EXPECT_EQ(failed.code(), Code::kUnavailable) << failed.ToString();
  ASSERT_GT(stored, 0);
  EXPECT_EQ(v.GetRecord(t->admin, "u", "account", "r" + std::to_string(stored)).status().code(),
            Code::kNotFound);
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "account", "r0").ok());
}

}  // namespace
}  // namespace vault
