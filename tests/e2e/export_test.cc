// End-to-end: subject export (Art. 15 and 20) as JSON, CSV (read back by Python's csv module)
// and XML (read back by Python's xml.etree and mapped to JSON), roles, audit, an erased
// subject's retained data, and a 100,000-record export in bounded server memory.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "vault/layout.h"
#include "vault/vault.h"

namespace vault::e2e {
namespace {

// A value with everything CSV and XML must quote or escape.
const json kAwkward = {{"note", "comma, \"quote\"\nnew line\r\nand <tag> & 'apos'"},
                       {"ctrl", std::string("bell\x01"
                                            "end")},
                       {"nested", {{"list", {1, 2.5, true, nullptr, "x,y"}}}}};

// Runs python3 on script with the file as its argument; returns its stdout.
std::string RunPython(const TempDir& dir, const std::string& script, const std::string& input) {
  const std::string py = dir.Join("check.py"), in = dir.Join("input"), out = dir.Join("out");
  WriteFile(py, script);
  WriteFile(in, input);
  const std::string cmd = "python3 " + py + " " + in + " > " + out;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << script;
  return ReadFile(out);
}

// Reads RFC 4180 CSV strictly (the default dialect, newline='' as the csv docs require) and
// prints the rows as a JSON array of arrays.
constexpr const char* kCsvToJson = R"(import csv, json, sys
with open(sys.argv[1], newline='', encoding='utf-8') as f:
    rows = list(csv.reader(f, strict=True))
print(json.dumps(rows))
)";

// Parses the XML (fails on anything not well-formed) and maps the W3C json-to-xml vocabulary
// back to JSON.
constexpr const char* kXmlToJson = R"(import json, sys, xml.etree.ElementTree as ET
NS = '{http://www.w3.org/2005/xpath-functions}'
def unescape(text):
    return json.loads('"' + text.replace('"', '\\"') + '"', strict=False)
def value(e):
    tag = e.tag[len(NS):]
    if tag == 'map':
        out = {}
        for c in e:
            k = c.get('key')
            if c.get('escaped-key') == 'true': k = unescape(k)
            out[k] = value(c)
        return out
    if tag == 'array': return [value(c) for c in e]
    if tag == 'string':
        t = e.text or ''
        return unescape(t) if e.get('escaped') == 'true' else t
    if tag == 'number':
        n = float(e.text)
        return int(n) if n.is_integer() and 'e' not in e.text and '.' not in e.text else n
    if tag == 'boolean': return e.text == 'true'
    if tag == 'null': return None
    raise SystemExit('unknown element ' + tag)
print(json.dumps(value(ET.parse(sys.argv[1]).getroot())))
)";

class ExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = ServerProcess::Start({}).release();
    admin_ = server_->admin_token();
    dpo_ = server_->CreateToken("dpo", {});
    app_ = server_->CreateToken("app", {"service", "support", "billing", "analytics"});
    auditor_ = server_->CreateToken("auditor", {});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static HttpResult Put(const std::string& sid, const std::string& cat, const std::string& rid,
                        const json& body) {
    return server_->CallJson("PUT", "/v1/subjects/" + sid + "/records/" + cat + "/" + rid, app_,
                             body);
  }
  static HttpResult Export(const std::string& sid, const std::string& format,
                           const std::string& token) {
    return server_->Call("GET", "/v1/subjects/" + sid + "/export?format=" + format, token);
  }
  // A subject with an awkward account record (rectified once), a billing record and a hold.
  static void Seed(const std::string& sid, json* billing_put) {
    ASSERT_EQ(Put(sid, "account", "profile", {{"data", {{"email", "old@example.com"}}}}).status,
              201);
    ASSERT_EQ(Put(sid, "account", "profile", {{"data", kAwkward}}).status, 200);
    const HttpResult b = Put(sid, "billing", "inv-1",
                             {{"data", {{"amount", 42}}}, {"event_time", "2025-03-01T00:00:00Z"}});
    ASSERT_EQ(b.status, 201);
    *billing_put = b.Json();
    ASSERT_EQ(server_
                  ->CallJson("POST", "/v1/subjects/" + sid + "/legal-holds", dpo_,
                             {{"reason", "tax audit 2026"}})
                  .status,
              201);
  }

  static ServerProcess* server_;
  static std::string admin_, dpo_, app_, auditor_;
};

ServerProcess* ExportTest::server_ = nullptr;
std::string ExportTest::admin_, ExportTest::dpo_, ExportTest::app_, ExportTest::auditor_;

const json* FindRecord(const json& records, const std::string& rid) {
  for (const json& r : records) {
    if (r["record_id"] == rid) return &r;
  }
  return nullptr;
}

TEST_F(ExportTest, JsonHoldsEverythingFieldByField) {
  json billing_put;
  Seed("exp-json", &billing_put);
  const HttpResult r = Export("exp-json", "json", dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  ASSERT_TRUE(r.headers.count("Content-Disposition") == 1);
  const std::string disposition = r.headers.find("Content-Disposition")->second;
  EXPECT_EQ(disposition.rfind("attachment; filename=\"lethe-export-", 0), 0u) << disposition;
  EXPECT_EQ(disposition.find("exp-json"), std::string::npos);  // no subject id in the name
  const json doc = r.Json();
  ASSERT_TRUE(doc.is_object()) << r.body;
  EXPECT_EQ(doc["format"], "lethe-export");
  EXPECT_EQ(doc["format_version"], 1);
  EXPECT_TRUE(doc["generated_at"].is_string());
  EXPECT_EQ(doc["subject"]["subject_id"], "exp-json");
  EXPECT_EQ(doc["subject"]["state"], "active");
  EXPECT_EQ(doc["subject"]["restricted"], false);
  EXPECT_TRUE(doc["erasure"].is_null());
  ASSERT_EQ(doc["legal_holds"].size(), 1u);
  EXPECT_EQ(doc["legal_holds"][0]["reason"], "tax audit 2026");
  bool saw_billing = false;
  for (const json& c : doc["categories"]) {
    if (c["category"] != "billing") continue;
    saw_billing = true;
    EXPECT_EQ(c["legal_basis"], "legal_obligation");
    EXPECT_EQ(c["purposes"], json({"billing"}));
    EXPECT_EQ(c["retention"], "after_event: 7y");
    EXPECT_EQ(c["survives_erasure"], true);
    EXPECT_EQ(c["recipients"], json({"payment processor", "tax authority"}));
  }
  EXPECT_TRUE(saw_billing);
  ASSERT_EQ(doc["records"].size(), 2u);
  const json* profile = FindRecord(doc["records"], "profile");
  ASSERT_NE(profile, nullptr);
  EXPECT_EQ((*profile)["category"], "account");
  EXPECT_EQ((*profile)["version"], 2);  // the rectified version only
  EXPECT_EQ((*profile)["data"], kAwkward);
  EXPECT_TRUE((*profile)["retain_until"].is_null());
  const json* invoice = FindRecord(doc["records"], "inv-1");
  ASSERT_NE(invoice, nullptr);
  EXPECT_EQ((*invoice)["retain_until"], billing_put["retain_until"]);
  EXPECT_EQ((*invoice)["event_time"], "2025-03-01T00:00:00Z");
  EXPECT_EQ((*invoice)["data"], json({{"amount", 42}}));
  EXPECT_EQ(r.body.find("old@example.com"), std::string::npos);
  // No consent recorded, no password set: both sections say so.
  EXPECT_EQ(doc["consents"], json::array()) << r.body;
  EXPECT_EQ(doc["password"], json({{"set", false}})) << r.body;
}

// The consents (with their history) and whether a password is set, by its algorithm; never the
// hash.
TEST_F(ExportTest, ConsentsAndPasswordAreInTheExportButNeverTheHash) {
  const std::string sid = "exp-consent";
  ASSERT_EQ(server_
                ->CallJson("PUT", "/v1/subjects/" + sid + "/consents/marketing", admin_,
                           {{"granted", true}, {"source", "signup form"}})
                .status,
            200);
  ASSERT_EQ(server_
                ->CallJson("PUT", "/v1/subjects/" + sid + "/consents/marketing", admin_,
                           {{"granted", false}, {"source", "unsubscribe link"}})
                .status,
            200);
  ASSERT_EQ(server_
                ->CallJson("PUT", "/v1/subjects/" + sid + "/password", admin_,
                           {{"password", "correct horse battery staple"}})
                .status,
            204);
  const HttpResult r = Export(sid, "json", dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  const json doc = r.Json();
  ASSERT_EQ(doc["consents"].size(), 1u) << r.body;
  const json& c = doc["consents"][0];
  EXPECT_EQ(c["purpose"], "marketing");
  EXPECT_EQ(c["granted"], false);
  ASSERT_EQ(c["history"].size(), 2u);
  EXPECT_EQ(c["history"][0]["granted"], true);
  EXPECT_EQ(c["history"][0]["source"], "signup form");
  EXPECT_EQ(c["history"][1]["source"], "unsubscribe link");
  EXPECT_TRUE(c["proof_until"].is_string());
  EXPECT_EQ(doc["password"], json({{"set", true}, {"algorithm", "argon2id"}})) << r.body;
  EXPECT_EQ(r.body.find("$argon2"), std::string::npos);
  EXPECT_EQ(r.body.find("correct horse"), std::string::npos);
}

TEST_F(ExportTest, CsvReadsBackWithPythonsCsvModule) {
  json billing_put;
  Seed("exp-csv", &billing_put);
  const HttpResult r = Export("exp-csv", "csv", admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type.rfind("text/csv", 0), 0u);
  EXPECT_NE(r.body.find("\r\n"), std::string::npos);
  TempDir dir;
  const json rows = json::parse(RunPython(dir, kCsvToJson, r.body), nullptr, false);
  ASSERT_TRUE(rows.is_array()) << r.body;
  ASSERT_GE(rows.size(), 2u);
  EXPECT_EQ(rows[0], json({"section", "category", "id", "version", "created_at", "updated_at",
                           "event_time", "retain_until", "data"}));
  int records = 0;
  for (const json& row : rows) {
    ASSERT_EQ(row.size(), 9u) << row.dump();
    if (row[0] == "legal_holds") {
      EXPECT_EQ(json::parse(row[8].get<std::string>())["reason"], "tax audit 2026");
    }
    if (row[0] != "records") continue;
    ++records;
    const json data = json::parse(row[8].get<std::string>());
    if (row[2] == "profile") {
      EXPECT_EQ(row[1], "account");
      EXPECT_EQ(row[3], "2");
      EXPECT_EQ(row[7], "");  // until erasure
      EXPECT_EQ(data, kAwkward);
    } else {
      EXPECT_EQ(row[2], "inv-1");
      EXPECT_EQ(row[6], "2025-03-01T00:00:00Z");
      EXPECT_EQ(row[7], billing_put["retain_until"]);
      EXPECT_EQ(data, json({{"amount", 42}}));
    }
  }
  EXPECT_EQ(records, 2);
}

TEST_F(ExportTest, XmlIsWellFormedAndTheJsonDocument) {
  json billing_put;
  Seed("exp-xml", &billing_put);
  const HttpResult x = Export("exp-xml", "xml", dpo_);
  ASSERT_EQ(x.status, 200) << x.body;
  EXPECT_EQ(x.content_type, "application/xml");
  TempDir dir;
  json from_xml = json::parse(RunPython(dir, kXmlToJson, x.body), nullptr, false);
  ASSERT_TRUE(from_xml.is_object()) << x.body;
  json from_json = Export("exp-xml", "json", dpo_).Json();
  from_xml.erase("generated_at");
  from_json.erase("generated_at");
  EXPECT_EQ(from_xml, from_json);
  EXPECT_EQ(FindRecord(from_xml["records"], "profile")->at("data"), kAwkward);
}

TEST_F(ExportTest, RolesFormatsAndUnknownSubjects) {
  ASSERT_EQ(Put("exp-roles", "account", "a", {{"data", {{"x", 1}}}}).status, 201);
  EXPECT_EQ(Export("exp-roles", "json", dpo_).status, 200);
  EXPECT_EQ(Export("exp-roles", "json", admin_).status, 200);
  EXPECT_TRUE(IsProblem(Export("exp-roles", "json", app_), 403));
  EXPECT_TRUE(IsProblem(Export("exp-roles", "json", auditor_), 403));
  EXPECT_TRUE(IsProblem(Export("exp-roles", "json", ""), 401));
  EXPECT_TRUE(IsProblem(Export("exp-roles", "pdf", dpo_), 400));
  EXPECT_TRUE(IsProblem(Export("exp-nobody", "json", dpo_), 404));
  const HttpResult plain = server_->Call("GET", "/v1/subjects/exp-roles/export", dpo_);
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.Json()["subject"]["subject_id"], "exp-roles");
}

// Sends request (which asks for Connection: close) and reads until the server closes.
std::string RawUntilClose(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) {
      response.append(buf, static_cast<std::size_t>(n));
    }
  }
  close(fd);
  return response;
}

TEST_F(ExportTest, StreamsChunkedToHttp11AndUntilTheCloseToHttp10) {
  ASSERT_EQ(Put("exp-raw", "account", "a", {{"data", {{"x", 1}}}}).status, 201);
  const std::string head = "GET /v1/subjects/exp-raw/export HTTP/1.";
  const std::string rest =
      "\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + dpo_ + "\r\nConnection: close\r\n\r\n";
  const std::string http11 = RawUntilClose(server_->port(), head + "1" + rest);
  EXPECT_EQ(http11.rfind("HTTP/1.1 200", 0), 0u) << http11.substr(0, 300);
  EXPECT_NE(http11.find("\r\nTransfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(http11.find("Content-Length"), std::string::npos);
  EXPECT_EQ(http11.substr(http11.size() - 5), "0\r\n\r\n");  // the last chunk
  const std::string http10 = RawUntilClose(server_->port(), head + "0" + rest);
  EXPECT_EQ(http10.rfind("HTTP/1.1 200", 0), 0u) << http10.substr(0, 300);
  EXPECT_EQ(http10.find("Transfer-Encoding"), std::string::npos);
  EXPECT_NE(http10.find("\r\nConnection: close\r\n"), std::string::npos);
  const json doc = json::parse(http10.substr(http10.find("\r\n\r\n") + 4), nullptr, false);
  EXPECT_EQ(doc["subject"]["subject_id"], "exp-raw");
}

TEST_F(ExportTest, EveryExportIsAnAuditEntry) {
  ASSERT_EQ(Put("exp-audit", "account", "a", {{"data", {{"x", 1}}}}).status, 201);
  ASSERT_EQ(Export("exp-audit", "csv", dpo_).status, 200);
  ASSERT_EQ(Export("exp-audit", "json", app_).status, 403);
  const HttpResult log = server_->Call("GET", "/v1/audit?limit=1000", admin_);
  ASSERT_EQ(log.status, 200);
  int ok = 0;
  const json entries = log.Json()["entries"];  // named: a loop over a temporary's member dangles
  for (const json& e : entries) {
    if (e["action"] == "subject.export" && e["outcome"] == "ok") ++ok;
  }
  EXPECT_GE(ok, 1);
  EXPECT_EQ(log.body.find("exp-audit"), std::string::npos);
}

TEST_F(ExportTest, AnErasedSubjectExportsWhatIsRetainedAndItsReceipt) {
  json billing_put;
  Seed("exp-erased", &billing_put);
  const HttpResult holds = server_->Call("GET", "/v1/subjects/exp-erased", dpo_);
  const std::string hold_id = holds.Json()["legal_holds"][0]["hold_id"];
  ASSERT_EQ(server_->Call("DELETE", "/v1/subjects/exp-erased/legal-holds/" + hold_id, dpo_).status,
            204);
  ASSERT_EQ(server_
                ->CallJson("POST", "/v1/subjects/exp-erased/erasure", dpo_,
                           {{"mode", "immediate"}, {"reason", "user request"}})
                .status,
            200);
  const HttpResult r = Export("exp-erased", "json", dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  const json doc = r.Json();
  EXPECT_EQ(doc["subject"]["state"], "erased");
  EXPECT_EQ(doc["erasure"]["state"], "completed");
  EXPECT_TRUE(doc["erasure"]["receipt"].is_object());
  ASSERT_EQ(doc["records"].size(), 1u);  // the account key is destroyed; billing survives
  EXPECT_EQ(doc["records"][0]["record_id"], "inv-1");
}

// 100,000 records (10,000 under sanitizers) exported in one streamed response: the server's
// anonymous memory stays within a bound far below the document's size.

void WriteManyRecords(const std::string& data_dir, const std::string& store, int count) {
  Options o;
  o.data_dir = data_dir;
  o.store = store;
  o.root_key = RootKeyFromFile(layout::DefaultRootKeyFile(data_dir));
  auto vault = Vault::Open(o);
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  const json data = {{"event", "page_view"}, {"path", std::string(150, 'p')}};
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 64; ++t) {
    writers.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        if (!(*vault)
                 ->PutRecord(Actor{"test", Role::kAdmin}, "big", "usage", "r" + std::to_string(i),
                             data)
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& w : writers) w.join();
  ASSERT_EQ(failures.load(), 0);
}

TEST(ExportLargeTest, AHundredThousandRecordsStreamInBoundedMemory) {
  const int kRecords = kSanitizedBuild ? 10000 : 100000;
  auto server = ServerProcess::Start({});
  WriteManyRecords(server->data_dir(), server->store(), kRecords);
  const long anon_before = ProcStatusKib("RssAnon", server->pid());
  const long hwm_before = ProcStatusKib("VmHWM", server->pid());
  ASSERT_GT(anon_before, 0);
  std::atomic<bool> done{false};
  std::atomic<long> anon_peak{anon_before};
  std::thread sampler([&] {
    while (!done) {
      anon_peak = std::max(anon_peak.load(), ProcStatusKib("RssAnon", server->pid()));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  const auto started = std::chrono::steady_clock::now();
  const HttpResult r =
      server->Call("GET", "/v1/subjects/big/export?format=json", server->admin_token());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  done = true;
  sampler.join();
  ASSERT_EQ(r.status, 200);
  const json doc = r.Json();
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["records"].size(), static_cast<std::size_t>(kRecords));
  const long hwm_after = ProcStatusKib("VmHWM", server->pid());
  std::printf(
      "export of %d records (%zu bytes) in %.2f s: RssAnon %ld -> peak %ld KiB, "
      "VmHWM %ld -> %ld KiB\n",
      kRecords, r.body.size(), seconds, anon_before, anon_peak.load(), hwm_before, hwm_after);
  if (kSanitizedBuild) return;  // ASan's quarantine holds freed memory: no bound says anything
  // The document is ~25 MB; held whole (records and text) it would take well over 50 MB.
  EXPECT_LT(anon_peak - anon_before, 24 * 1024);
  // VmHWM also counts the pages of the store's memory map the export touched: at most the
  // data file, which the page cache holds, not the process.
  const std::string data_file = server->data_dir() + "/store/data.mdb";  // none over PostgreSQL
  const auto file_kib = server->store().empty()
                            ? static_cast<long>(std::filesystem::file_size(data_file) / 1024)
                            : 0L;
  EXPECT_LT(hwm_after - hwm_before, file_kib + 24 * 1024) << "data file " << file_kib << " KiB";
}

}  // namespace
}  // namespace vault::e2e
