// The five example policies (examples/policies/) end to end: each passes `policy check`, its
// render matches docs/policies/ and publishes no setting the company did not state, and the
// promises of each are observed over HTTP on the test clock ($LETHE_TEST_CLOCK_FILE), with
// every figure the render publishes compared with what the vault did.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

#include "harness.h"
#include "vault/clock.h"

namespace vault::e2e {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kT0 = 1798761600;  // 2027-01-01T00:00:00Z

const char* const kCompanies[] = {"micropim", "mikrocybercloud", "microlink", "mindlink",
                                  "microspace"};

std::string ExamplePath(const std::string& company) {
  return std::string(VAULT_SOURCE_DIR) + "/examples/policies/" + company + ".yaml";
}

std::string Render(const std::string& company) {
  const CliResult r = RunVault({"policy", "render", ExamplePath(company)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// The number of days in the first match of pattern (one "(\d+)d" group) in text; -1 if none.
std::int64_t RenderedDays(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return -1;
  return std::stoll(m[1].str());
}

std::int64_t TimeOf(const json& j) { return ParseRfc3339(j.get<std::string>()).value_or(-1); }

// The test clock every `lethe` process started by this test reads.
class TestClock {
 public:
  TestClock() : path_(dir_.Join("now")) {
    Set(kT0);
    ::setenv("LETHE_TEST_CLOCK_FILE", path_.c_str(), 1);
  }
  ~TestClock() { ::unsetenv("LETHE_TEST_CLOCK_FILE"); }
  void Set(std::int64_t t) {
    now_ = t;
    WriteFile(path_ + ".tmp", std::to_string(t));
    std::filesystem::rename(path_ + ".tmp", path_);
  }
  std::int64_t now() const { return now_; }

 private:
  TempDir dir_;
  std::string path_;
  std::int64_t now_ = 0;
};

class PolicyServer {
 public:
  PolicyServer(const std::string& company, TestClock& clock) : clock_(clock) {
    policy_ = dir_.Join(company + ".yaml");
    WriteFile(policy_, ReadFile(ExamplePath(company)));
    server_ = ServerProcess::Start({ReadFile(policy_)});
  }
  ServerProcess& operator*() { return *server_; }
  ServerProcess* operator->() { return server_.get(); }
  const std::string& policy() const { return policy_; }

  HttpResult Sweep() {
    return server_->Call("POST", "/v1/admin/sweep", server_->admin_token(), "{}");
  }
  // Moves the clock to t a day at a time, sweeping each day as the background sweeper would
  // (key epochs rotate on time only when it runs).
  void AdvanceDailyTo(std::int64_t t) {
    while (clock_.now() < t) {
      clock_.Set(std::min(t, clock_.now() + kDay));
      ASSERT_EQ(Sweep().status, 200);
    }
  }
  void JumpTo(std::int64_t t) {
    clock_.Set(t);
    ASSERT_EQ(Sweep().status, 200);
  }
  HttpResult Put(const std::string& path, const json& body) {
    return server_->CallJson("PUT", "/v1/subjects/" + path, server_->admin_token(), body);
  }
  HttpResult Get(const std::string& path) {
    return server_->Call("GET", "/v1/subjects/" + path, server_->admin_token());
  }

 private:
  TestClock& clock_;
  TempDir dir_;
  std::string policy_;
  std::unique_ptr<ServerProcess> server_;
};

TEST(PolicyExamplesTest, EveryExampleChecksCleanAndRendersOnlyWhatItStates) {
  for (const char* company : kCompanies) {
    SCOPED_TRACE(company);
    const CliResult check = RunVault({"policy", "check", ExamplePath(company)});
    EXPECT_EQ(check.exit_code, 0) << check.err;
    EXPECT_TRUE(check.err.empty()) << check.err;
    const std::string yaml = ReadFile(ExamplePath(company));
    const std::string md = Render(company);
    // The published document carries the render as it is today.
    const std::string doc =
        ReadFile(std::string(VAULT_SOURCE_DIR) + "/docs/policies/" + company + ".md");
    EXPECT_NE(doc.find(md), std::string::npos)
        << "docs/policies/" << company << ".md is stale; render:\n"
        << md;
    if (yaml.find("erasure:") == std::string::npos) {
      EXPECT_EQ(md.find("grace"), std::string::npos) << md;
      EXPECT_EQ(md.find("deletion request"), std::string::npos) << md;
    }
    if (yaml.find("keys:") == std::string::npos) {
      for (const char* word : {"backup", "epoch", "horizon", "unrecoverable"}) {
        EXPECT_EQ(md.find(word), std::string::npos) << word << " in:\n" << md;
      }
    }
    EXPECT_EQ(md.find("(vault default"), std::string::npos) << md;
    // Withdrawal is published only where the company stated what it does.
    if (yaml.find("on_consent_withdrawal") == std::string::npos &&
        yaml.find("proof_retention") == std::string::npos) {
      EXPECT_EQ(md.find("withdraw"), std::string::npos) << md;
    }
  }
}

// MicroPIM: transforms and minimisation on write; backups unreadable within 31 days; account
// data gone 31 days after a deletion request; billing kept 7 years after the transaction and
// through erasure; usage shredded 12 months after collection, updates notwithstanding.
TEST(MicroPimPolicyTest, KeepsItsPromisesOnTheClock) {
  TestClock clock;
  PolicyServer s("micropim", clock);
  const std::string md = Render("micropim");
  const std::int64_t backup_days = RenderedDays(md, "unreadable at most (\\d+)d after it is taken");
  const std::int64_t erasure_days = RenderedDays(md, "at most (\\d+)d after a deletion request");
  const std::int64_t grace_days = RenderedDays(md, "carried out (\\d+)d after it is made");
  ASSERT_EQ(backup_days, 31) << md;
  ASSERT_EQ(erasure_days, 62) << md;
  ASSERT_EQ(grace_days, 31) << md;

  ASSERT_EQ(s.Put("alice/records/account/profile", {{"data", {{"name", "Alice Liddell"}}}}).status,
            201);
  auto billed = s.Put("alice/records/billing/inv-1", {{"data", {{"last4", "4242"}}},
                                                      {"event", "transaction"},
                                                      {"event_time", FormatRfc3339(kT0)}});
  ASSERT_EQ(billed.status, 201) << billed.body;
  const std::int64_t billing_until = TimeOf(billed.Json()["retain_until"]);
  EXPECT_EQ(billing_until, kT0 + (365 * 7 + 2) * kDay);  // 2027 + 7y, two leap days, end of day

  // Minimisation: a full card number or a CVV is refused, naming the field, not the value.
  auto card =
      s.Put("alice/records/billing/inv-2", {{"data", {{"memo", "card 4111 1111 1111 1111"}}},
                                            {"event", "transaction"},
                                            {"event_time", FormatRfc3339(kT0)}});
  ASSERT_TRUE(IsProblem(card, 422));
  EXPECT_NE(card.body.find("memo"), std::string::npos) << card.body;
  EXPECT_EQ(card.body.find("4111"), std::string::npos) << card.body;
  EXPECT_TRUE(IsProblem(s.Put("alice/records/billing/inv-2", {{"data", {{"cvv", "123"}}}}), 422));
  EXPECT_TRUE(IsProblem(
      s.Put("alice/records/billing/inv-2",
            {{"data", {{"x", 1}}}, {"event", "refund"}, {"event_time", FormatRfc3339(kT0)}}),
      422));

  EXPECT_TRUE(IsProblem(
      s.Put("alice/records/billing/inv-2", {{"data", {{"x", 1}}}, {"event", "transaction"}}), 400));

  // GET /v1/policy carries the new rules as the file states them.
  const json cats = s->Call("GET", "/v1/policy", s->admin_token()).Json()["categories"];
  EXPECT_EQ(cats["billing"]["retention"], json({{"after_event", "7y"}, {"event", "transaction"}}));
  EXPECT_EQ(cats["billing"]["legal_bases"],
            json({"contract", "legal_obligation", "legitimate_interest"}));
  EXPECT_EQ(cats["billing"]["forbid"], json({"payment_card_number", "cvv"}));
  EXPECT_EQ(cats["usage"]["transforms"], json({{"ip", "truncate_ip"}}));
  EXPECT_EQ(cats["newsletter"]["retention"],
            json({{"after_last_activity", "2y"}, {"or_until", "consent_withdrawn"}}));

  // Transforms: the IP is shortened before anything is stored.
  ASSERT_EQ(s.Put("bob/records/usage/u1", {{"data", {{"ip", "203.0.113.195"}}}}).status, 201);
  EXPECT_EQ(s.Get("bob/records/usage/u1").Json()["data"]["ip"], "203.0.113.0");
  const std::int64_t usage_until = TimeOf(s.Get("bob/records/usage/u1").Json()["retain_until"]);

  // A backup taken now: the figure the render publishes is the one the manifest carries.
  TempDir work;
  const std::string backup = work.Join("backup");
  CliResult r = RunVault(
      {"backup", "--data-dir", s->data_dir(), "--policy", s.policy(), "--out", backup, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json manifest = json::parse(r.out, nullptr, false);
  const std::int64_t taken = TimeOf(manifest["created_at"]);
  EXPECT_EQ(TimeOf(manifest["unreadable_after"]) - taken, backup_days * kDay) << r.out;
  EXPECT_LE(TimeOf(manifest["readable_until"]), TimeOf(manifest["unreadable_after"]));
  for (const auto& f : std::filesystem::recursive_directory_iterator(s->data_dir())) {
    if (f.is_regular_file()) {
      EXPECT_EQ(ReadFile(f.path()).find("203.0.113.195"), std::string::npos) << f.path();
    }
  }
  auto restore = [&](const std::string& into) {
    return RunVault({"restore", "--from", backup, "--data-dir", work.Join(into), "--keyring",
                     s->data_dir() + "/keyring", "--root-key-file", s->data_dir() + "/root.key"});
  };
  // Ten days on, older epochs' keys are still alive: the copy stops being restorable when the
  // first of them dies, but stays decryptable until the last one does, 31 days after it.
  s.AdvanceDailyTo(taken + 10 * kDay);
  r = RunVault({"backup", "--data-dir", s->data_dir(), "--policy", s.policy(), "--out",
                work.Join("backup-2"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json later = json::parse(r.out, nullptr, false);
  EXPECT_EQ(TimeOf(later["unreadable_after"]) - TimeOf(later["created_at"]), backup_days * kDay);
  EXPECT_LT(TimeOf(later["readable_until"]), TimeOf(later["unreadable_after"])) << r.out;
  s.AdvanceDailyTo(taken + (backup_days - 1) * kDay);
  r = restore("restored-in-time");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  s.AdvanceDailyTo(taken + backup_days * kDay);
  r = restore("restored-too-late");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("can no longer be read"), std::string::npos) << r.err;

  // A deletion request: cancellable for the grace the render publishes, carried out at its end.
  const std::int64_t asked = clock.now();
  auto erasure = s->CallJson("POST", "/v1/subjects/alice/erasure", s->admin_token(),
                             {{"mode", "grace"}, {"reason", "account deleted"}});
  ASSERT_EQ(erasure.status, 202) << erasure.body;
  EXPECT_EQ(TimeOf(erasure.Json()["execute_at"]), asked + grace_days * kDay);
  s.AdvanceDailyTo(asked + grace_days * kDay - 60);
  EXPECT_EQ(s.Get("alice").Json()["state"], "erasure_pending");
  s.AdvanceDailyTo(asked + grace_days * kDay);
  EXPECT_EQ(s.Get("alice").Json()["state"], "erased");
  EXPECT_NE(s.Get("alice/records/account/profile").status, 200);
  const json done =
      s->Call("GET", "/v1/erasures/" + erasure.Json()["erasure_id"].get<std::string>(),
              s->admin_token())
          .Json();
  ASSERT_EQ(done["state"], "completed") << done;
  EXPECT_LE(TimeOf(done["receipt"]["unrecoverable_after"]) - asked, erasure_days * kDay) << done;
  EXPECT_EQ(done["receipt"]["retained"][0]["category"], "billing") << done;

  // Billing survives the erasure until 7 years after the transaction.
  EXPECT_EQ(s.Get("alice/records/billing/inv-1").status, 200);

  // Usage: an update does not extend the 12 months; the sweeper shreds at their end.
  s.JumpTo(kT0 + 100 * kDay);
  auto updated = s.Put("bob/records/usage/u1", {{"data", {{"ip", "198.51.100.7"}}}});
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(TimeOf(updated.Json()["retain_until"]), usage_until);
  EXPECT_EQ(usage_until, kT0 + 365 * kDay);  // 2028-01-01T00:00:00Z: 12 months, end of day
  s.JumpTo(usage_until - 3600);
  EXPECT_EQ(s.Get("bob/records/usage/u1").status, 200);
  s.JumpTo(usage_until);
  EXPECT_NE(s.Get("bob/records/usage/u1").status, 200);

  s.JumpTo(billing_until - 3600);
  EXPECT_EQ(s.Get("alice/records/billing/inv-1").status, 200);
  s.JumpTo(billing_until);
  EXPECT_NE(s.Get("alice/records/billing/inv-1").status, 200);
}

// MicroPIM's consent promises, each figure read from the render and observed on the clock:
// newsletter (marketing) data gone within 30 days of withdrawal, surveys ("2 years or until
// consent withdrawn") gone at withdrawal, the consent records kept 2 years after withdrawal
// and gone after.
TEST(MicroPimPolicyTest, KeepsItsConsentPromisesOnTheClock) {
  TestClock clock;
  PolicyServer s("micropim", clock);
  const std::string md = Render("micropim");
  const std::int64_t marketing_days =
      RenderedDays(md, "\\| newsletter \\|[^\\n]*deleted within (\\d+)d of consent withdrawal");
  ASSERT_EQ(marketing_days, 30) << md;
  std::smatch proof;
  ASSERT_TRUE(std::regex_search(md, proof,
                                std::regex("kept as proof for (\\d+)y after it is "
                                           "withdrawn, then destroyed")))
      << md;
  const int proof_years = std::stoi(proof[1].str());
  ASSERT_EQ(proof_years, 2);
  const std::int64_t respond_days = RenderedDays(md, "logged with its due date, (\\d+)d after it");
  ASSERT_EQ(respond_days, 30) << md;
  ASSERT_NE(md.find("| surveys | consent | product | 2y after the record was first written "
                    "(updates do not extend it), then shredded by the end of that UTC day, or "
                    "earlier when consent is withdrawn |"),
            std::string::npos)
      << md;

  const std::string admin = s->admin_token();
  auto consent = [&](const std::string& purpose, bool granted) {
    return s->CallJson("PUT", "/v1/subjects/carol/consents/" + purpose, admin,
                       {{"granted", granted}, {"source", "settings page"}});
  };
  ASSERT_EQ(consent("marketing", true).status, 200);
  ASSERT_EQ(consent("surveys", true).status, 200);
  ASSERT_EQ(s.Put("carol/records/newsletter/sub", {{"data", {{"list", "monthly"}}}}).status, 201);
  ASSERT_EQ(s.Put("carol/records/surveys/q1", {{"data", {{"score", 9}}}}).status, 201);
  ASSERT_EQ(s.Put("carol/records/account/profile", {{"data", {{"name", "Carol"}}}}).status, 201);
  // "Within 30 days": the request log's due date is the rendered figure after receipt.
  HttpResult req = s->CallJson("POST", "/v1/requests", admin,
                               {{"subject_id", "carol"}, {"kind", "rectification"}});
  ASSERT_EQ(req.status, 201) << req.body;
  EXPECT_EQ(TimeOf(req.Json()["due_at"]) - TimeOf(req.Json()["received_at"]), respond_days * kDay);
  const std::string request_id = req.Json()["request_id"];

  s.JumpTo(kT0 + 10 * kDay);
  const std::int64_t withdrawn = clock.now();
  HttpResult w = consent("marketing", false);
  ASSERT_EQ(w.status, 200) << w.body;
  const std::int64_t proof_until = TimeOf(w.Json()["proof_until"]);
  const Duration proof_period{proof_years, Duration::Unit::kYears};
  EXPECT_EQ(proof_until, proof_period.AddTo(withdrawn));
  ASSERT_EQ(consent("surveys", false).status, 200);
  ASSERT_EQ(s.Sweep().status, 200);
  EXPECT_EQ(s.Get("carol/records/surveys/q1").status, 404);  // or_until: consent_withdrawn
  EXPECT_EQ(s.Get("carol/records/newsletter/sub").status, 200);

  json report = s->Call("GET", "/v1/admin/report", admin).Json();
  EXPECT_EQ(report["pending"]["requests"]["overdue"], 0) << report;

  s.JumpTo(withdrawn + marketing_days * kDay - 3600);
  EXPECT_EQ(s.Get("carol/records/newsletter/sub").status, 200);
  s.JumpTo(withdrawn + marketing_days * kDay);
  EXPECT_EQ(s.Get("carol/records/newsletter/sub").status, 404);
  EXPECT_EQ(s.Get("carol/records/account/profile").status, 200);
  // Past its due date the report names the request as overdue.
  report = s->Call("GET", "/v1/admin/report", admin).Json();
  EXPECT_EQ(report["pending"]["requests"]["overdue_ids"], json::array({request_id})) << report;
  EXPECT_EQ(report["overdue"], true);

  // The proof: the whole history, kept until proof_until, then destroyed.
  auto marketing_history = [&]() {
    const json list = s->Call("GET", "/v1/subjects/carol/consents", admin).Json()["consents"];
    for (const json& c : list) {
      if (c["purpose"] == "marketing") return c["history"];
    }
    return json();
  };
  s.JumpTo(proof_until - 3600);
  EXPECT_EQ(marketing_history().size(), 2u);
  s.JumpTo(proof_until);
  EXPECT_TRUE(marketing_history().is_null()) << marketing_history();
}

// MikroCyberCloud: at most 10 years from receipt; an update does not start them again.
TEST(MikroCyberCloudPolicyTest, TenYearsFromFirstReceiptNotExtendedByUpdates) {
  TestClock clock;
  PolicyServer s("mikrocybercloud", clock);
  const std::string md = Render("mikrocybercloud");
  EXPECT_NE(md.find("10y after the record was first written (updates do not extend it)"),
            std::string::npos)
      << md;
  auto first = s.Put("c1/records/account/profile", {{"data", {{"name", "Ada"}}}});
  ASSERT_EQ(first.status, 201) << first.body;
  const std::int64_t until = TimeOf(first.Json()["retain_until"]);
  EXPECT_EQ(until, kT0 + (3650 + 3) * kDay);  // 2037-01-01: ten years and three leap days
  // "Within thirty (30) calendar days of receipt": a request received on 2026-12-05 is due
  // on 2027-01-04 (30 days, a day before the statutory month ends) and late a second after.
  const std::int64_t respond_days = RenderedDays(md, "logged with its due date, (\\d+)d after it");
  ASSERT_EQ(respond_days, 30) << md;
  const HttpResult req = s->CallJson(
      "POST", "/v1/requests", s->admin_token(),
      {{"subject_id", "c1"}, {"kind", "access"}, {"received_at", FormatRfc3339(kT0 - 27 * kDay)}});
  ASSERT_EQ(req.status, 201) << req.body;
  EXPECT_EQ(TimeOf(req.Json()["due_at"]), kT0 + 3 * kDay);
  s.JumpTo(kT0 + 3 * kDay);
  EXPECT_EQ(
      s->Call("GET", "/v1/requests?open=true", s->admin_token()).Json()["requests"][0]["overdue"],
      false);
  s.JumpTo(kT0 + 3 * kDay + 1);
  EXPECT_EQ(
      s->Call("GET", "/v1/requests?open=true", s->admin_token()).Json()["requests"][0]["overdue"],
      true);
  s.JumpTo(kT0 + 5 * 365 * kDay);
  auto update = s.Put("c1/records/account/profile", {{"data", {{"name", "Ada L."}}}});
  ASSERT_EQ(update.status, 200) << update.body;
  EXPECT_EQ(TimeOf(update.Json()["retain_until"]), until);
  s.JumpTo(until - 3600);
  EXPECT_EQ(s.Get("c1/records/account/profile").Json()["data"]["name"], "Ada L.");
  clock.Set(until);  // the ten years are over: no update brings them back
  EXPECT_TRUE(IsProblem(s.Put("c1/records/account/profile", {{"data", {{"name", "x"}}}}), 422));
  ASSERT_EQ(s.Sweep().status, 200);
  EXPECT_NE(s.Get("c1/records/account/profile").status, 200);
}

// Microlink, Mindlink, Microspace state no periods: nothing they did not promise is published,
// by the render or by GET /v1/policy's `stated`; Microlink's anonymised IP holds on write.
TEST(UnstatedPoliciesTest, PublishNothingTheCompanyDidNotPromise) {
  TestClock clock;
  for (const char* company : {"microlink", "mindlink", "microspace"}) {
    SCOPED_TRACE(company);
    PolicyServer s(company, clock);
    const json policy = s->Call("GET", "/v1/policy", s->admin_token()).Json();
    EXPECT_EQ(policy["stated"], json::array()) << policy;
    const CliResult check = RunVault({"policy", "check", ExamplePath(company)});
    EXPECT_NE(check.out.find("erasure grace 31d by default"), std::string::npos) << check.out;
    const std::string md = Render(company);
    for (const char* word : {"31d", "grace", "backup", "epoch", "horizon", "withdraw"}) {
      EXPECT_EQ(md.find(word), std::string::npos) << word << " in:\n" << md;
    }
    EXPECT_NE(md.find("until an erasure request for the subject is carried out"), std::string::npos)
        << md;
  }
  PolicyServer s("microlink", clock);
  ASSERT_EQ(s.Put("v1/records/website_analytics/hit-1",
                  {{"data", {{"ip", "2001:db8:85a3:8d3:1319:8a2e:370:7348"}}}})
                .status,
            201);
  EXPECT_EQ(s.Get("v1/records/website_analytics/hit-1").Json()["data"]["ip"], "2001:db8:85a3::");
  for (const auto& f : std::filesystem::recursive_directory_iterator(s->data_dir())) {
    if (f.is_regular_file()) {
      EXPECT_EQ(ReadFile(f.path()).find("1319:8a2e"), std::string::npos) << f.path();
    }
  }
}

}  // namespace
}  // namespace vault::e2e
