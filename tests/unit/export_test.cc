// The exporter (vault/exporter.h): pages of records across several pieces, each record
// exactly once even with writes between pieces; roles; the CSV writer's RFC 4180 quoting.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include "test_util.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

// Drains a stream; *pieces counts the pieces.
std::string Drain(ExportStream& s, int* pieces = nullptr,
                  const std::function<void()>& between = {}) {
  std::string doc;
  for (;;) {
    StatusOr<bool> more = s.Next(&doc);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    if (pieces != nullptr) ++*pieces;
    if (between) between();
  }
  return doc;
}

TEST(ExportTest, RecordsComeInPagesEachExactlyOnceWhileWritesGoOn) {
  auto t = TestVault::Make("export-pages");
  Vault& v = *t->vault;
  constexpr int kRecords = 1203;  // more than two pages of 500
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> writers;  // concurrent writers share group commits: quick setup
  for (int w = 0; w < 32; ++w) {
    writers.emplace_back([&] {
      for (int i = next++; i < kRecords; i = next++) {
        if (!v.PutRecord(t->admin, "pat", "usage", "r" + std::to_string(i), {{"i", i}}).ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& w : writers) w.join();
  ASSERT_EQ(failures.load(), 0);
  auto stream = v.Export(t->dpo, "pat", ExportFormat::kJson);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  int pieces = 0, extra = 0;
  const std::string text = Drain(**stream, &pieces, [&] {
    // A write between pieces: the export is not one snapshot, but it never repeats a record.
    ASSERT_TRUE(
        v.PutRecord(t->admin, "pat", "account", "x" + std::to_string(extra++), {{"k", 1}}).ok());
  });
  EXPECT_GE(pieces, 4);  // head, three pages of usage (500, 500, 203), ...
  const json doc = json::parse(text, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << text.substr(0, 500);
  std::set<std::string> usage;
  for (const json& r : doc["records"]) {
    if (r["category"] == "usage") {
      EXPECT_TRUE(usage.insert(r["record_id"]).second);
    }
  }
  EXPECT_EQ(usage.size(), static_cast<std::size_t>(kRecords));
}

TEST(ExportTest, OnlyDpoAndAdminExportAndUnknownSubjectsAreNotFound) {
  auto t = TestVault::Make("export-roles");
  Vault& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "quinn", "account", "p", {{"x", 1}}).ok());
  EXPECT_EQ(v.Export(Actor{"app", Role::kApp}, "quinn", ExportFormat::kJson).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(v.Export(Actor{"aud", Role::kAuditor}, "quinn", ExportFormat::kCsv).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(v.Export(t->dpo, "nobody", ExportFormat::kJson).status().code(), Code::kNotFound);
  EXPECT_EQ(v.Export(t->dpo, "bad/id", ExportFormat::kJson).status().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(v.Export(t->admin, "quinn", ExportFormat::kXml).ok());
}

TEST(ExportTest, CsvQuotesCommasQuotesAndLineBreaks) {
  auto t = TestVault::Make("export-csv");
  Vault& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "rita", "account", "p", {{"a", "x,\"y\"\r\nz"}}).ok());
  auto stream = v.Export(t->dpo, "rita", ExportFormat::kCsv);
  ASSERT_TRUE(stream.ok());
  const std::string text = Drain(**stream);
  EXPECT_EQ(text.rfind("section,category,id,version,", 0), 0u);
  // The data column: JSON text {"a":"x,\"y\"\r\nz"} (escaped by JSON), then CSV-quoted with
  // its quotes doubled.
  EXPECT_NE(text.find(R"("{""a"":""x,\""y\""\r\nz""}")"), std::string::npos) << text;
  std::size_t lines = 0;
  for (std::size_t i = text.find("\r\n"); i != std::string::npos; i = text.find("\r\n", i + 2)) {
    ++lines;
  }
  EXPECT_EQ(text.find('\n'), text.find("\r\n") + 1);  // rows end with CRLF
  EXPECT_GE(lines, 6u);
}

TEST(ExportTest, PolicyRecipientsAreParsedAndBadOnesRefusedByLine) {
  const std::string head =
      "version: 1\ncategories:\n  billing:\n    legal_basis: legal_obligation\n"
      "    purposes: [billing]\n    retention: {after_event: 7y}\n";
  auto ok = Policy::Parse(head + "    recipients: [payment processor, tax authority]\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->categories.at("billing").recipients,
            (std::vector<std::string>{"payment processor", "tax authority"}));
  auto scalar = Policy::Parse(head + "    recipients: tax authority\n");
  ASSERT_FALSE(scalar.ok());
  EXPECT_NE(scalar.status().message().find("line 7"), std::string::npos)
      << scalar.status().message();
  EXPECT_FALSE(Policy::Parse(head + "    recipients: [\"\"]\n").ok());
  EXPECT_EQ(Policy::Default().categories.at("billing").recipients.size(), 2u);
}

}  // namespace
}  // namespace vault
