// Passwords over HTTP: set and verify, every import family then its upgrade to Argon2id,
// the pepper, throttling with Retry-After, unknown-subject timing, erasure (no trace on
// disk), and 500 concurrent verifies that neither starve a record GET nor grow memory.
#include <argon2.h>
#include <crypt.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "harness.h"

namespace vault::e2e {
namespace {

using Clock = std::chrono::steady_clock;

std::string RunCommand(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
  std::string out;
  char buf[512];
  while (p && std::fgets(buf, sizeof buf, p.get()) != nullptr) out += buf;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string Bcrypt(const std::string& password, const char* prefix) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn(prefix, 4, nullptr, 0, setting, sizeof setting), nullptr);
  auto data = std::make_unique<crypt_data>();
  return crypt_rn(password.c_str(), setting, data.get(), sizeof(crypt_data));
}

std::string Argon2(const std::string& password, argon2_type type) {
  const std::string salt = "e2e-salt-16bytes";
  char out[256];
  EXPECT_EQ(argon2_hash(1, 4096, 1, password.data(), password.size(), salt.data(), salt.size(),
                        nullptr, 32, out, sizeof out, type, ARGON2_VERSION_13),
            ARGON2_OK);
  return out;
}

std::string Django(const std::string& password) {
  return RunCommand(
      "python3 -c \"import hashlib,base64;print('pbkdf2_sha256\\$2000\\$e2eSaltX\\$'+"
      "base64.b64encode(hashlib.pbkdf2_hmac('sha256',b'" +
      password + "',b'e2eSaltX',2000)).decode())\"");
}

std::string PathOf(const std::string& sid) { return "/v1/subjects/" + sid + "/password"; }

class PasswordsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = ServerProcess::Start({}).release();
    app_ = server_->CreateToken("app", {"service"});
    dpo_ = server_->CreateToken("dpo", {});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static HttpResult Put(const std::string& sid, const json& body) {
    return server_->CallJson("PUT", PathOf(sid), app_, body);
  }
  static HttpResult Verify(const std::string& sid, const std::string& password) {
    return server_->CallJson("POST", PathOf(sid) + "/verify", app_, {{"password", password}});
  }
  static bool Valid(const std::string& sid, const std::string& password) {
    const HttpResult r = Verify(sid, password);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json().value("valid", false);
  }
  static std::string Algorithm(const std::string& sid) {
    const HttpResult r = server_->Call("GET", PathOf(sid), dpo_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json()["algorithm"].is_string() ? r.Json()["algorithm"].get<std::string>() : "";
  }

  static ServerProcess* server_;
  static std::string app_, dpo_;
};
ServerProcess* PasswordsTest::server_ = nullptr;
std::string PasswordsTest::app_, PasswordsTest::dpo_;

TEST_F(PasswordsTest, SetVerifyRulesAndRoles) {
  HttpResult r = Put("alice", {{"password", "short7!"}});
  ASSERT_TRUE(IsProblem(r, 422));
  EXPECT_NE(r.body.find("min_length"), std::string::npos);
  EXPECT_EQ(r.body.find("short7!"), std::string::npos);
  EXPECT_EQ(Put("alice", {{"password", "x"}, {"hash", "y"}}).status, 400);
  ASSERT_EQ(Put("alice", {{"password", "Correct-Horse-42"}}).status, 204);
  EXPECT_TRUE(Valid("alice", "Correct-Horse-42"));
  EXPECT_FALSE(Valid("alice", "Correct-Horse-43"));
  EXPECT_EQ(Algorithm("alice"), "argon2id");
  // The password belongs to the account: a token without one of its purposes may not.
  const std::string billing = server_->CreateToken("app", {"billing"});
  EXPECT_TRUE(IsProblem(
      server_->CallJson("POST", PathOf("alice") + "/verify", billing, {{"password", "x"}}), 403));
  EXPECT_EQ(
      server_->CallJson("POST", PathOf("alice") + "/verify", dpo_, {{"password", "x"}}).status,
      403);
  const HttpResult none = server_->Call("GET", PathOf("nobody-yet"), dpo_);
  EXPECT_EQ(none.status, 404);
  // Every verify is audited by outcome, never with the password.
  const HttpResult audit = server_->Call("GET", "/v1/audit?limit=1000", server_->admin_token());
  ASSERT_EQ(audit.status, 200);
  EXPECT_NE(audit.body.find("password.verify"), std::string::npos);
  EXPECT_NE(audit.body.find("unauthenticated"), std::string::npos);
  EXPECT_EQ(audit.body.find("Correct-Horse"), std::string::npos);
}

TEST_F(PasswordsTest, EachImportFamilyIsUpgradedToArgon2idOnFirstSuccess) {
  struct Family {
    std::string name, hash;
  };
  const std::string sha512 = RunCommand("openssl passwd -6 -salt e2esalt 'Imported-Pass-1'");
  const std::vector<Family> families = {
      {"bcrypt", Bcrypt("Imported-Pass-1", "$2b$")},
      {"bcrypt", Bcrypt("Imported-Pass-1", "$2a$")},
      {"bcrypt", Bcrypt("Imported-Pass-1", "$2y$")},
      {"argon2i", Argon2("Imported-Pass-1", Argon2_i)},
      {"argon2id", Argon2("Imported-Pass-1", Argon2_id)},  // below the policy's cost
      {"sha512crypt", sha512},
      {"pbkdf2_sha256", Django("Imported-Pass-1")},
  };
  int n = 0;
  for (const auto& f : families) {
    const std::string sid = "imp" + std::to_string(n++);
    ASSERT_EQ(Put(sid, {{"hash", f.hash}}).status, 204) << f.name << " " << f.hash;
    EXPECT_EQ(Algorithm(sid), f.name);
    EXPECT_FALSE(Valid(sid, "Imported-Pass-2")) << f.name;
    EXPECT_EQ(Algorithm(sid), f.name) << "a failed verify changes nothing";
    EXPECT_TRUE(Valid(sid, "Imported-Pass-1")) << f.name;
    EXPECT_EQ(Algorithm(sid), "argon2id") << f.name;
    EXPECT_TRUE(Valid(sid, "Imported-Pass-1")) << f.name << " after the upgrade";
  }
  for (const std::string bad : {"$1$abc$defghijklmnopqrstuvwxy", "not a hash at all",
                                "$2b$04$tooShortForBcrypt", "pbkdf2_sha256$abc$salt$hash"}) {
    const HttpResult r = Put("imp-bad", {{"hash", bad}});
    ASSERT_TRUE(IsProblem(r, 422)) << bad;
    EXPECT_EQ(r.body.find(bad), std::string::npos);
  }
  EXPECT_EQ(server_->Call("GET", PathOf("imp-bad"), dpo_).status, 404) << "nothing was stored";
}

TEST_F(PasswordsTest, ThrottledAfterFailedAttemptsWithRetryAfter) {
  ASSERT_EQ(Put("bob", {{"password", "Bobs-Real-Secret"}}).status, 204);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(Valid("bob", "guess-" + std::to_string(i)));
  const HttpResult r = Verify("bob", "Bobs-Real-Secret");
  ASSERT_TRUE(IsProblem(r, 429));
  const auto retry = r.headers.find("Retry-After");
  ASSERT_NE(retry, r.headers.end());
  const int seconds = std::stoi(retry->second);
  EXPECT_GE(seconds, 1);
  EXPECT_LE(seconds, 2);
  // Others are not held back.
  ASSERT_EQ(Put("carol", {{"password", "Carols-Secret-1"}}).status, 204);
  EXPECT_TRUE(Valid("carol", "Carols-Secret-1"));
  std::this_thread::sleep_for(std::chrono::seconds(seconds) + std::chrono::milliseconds(100));
  EXPECT_TRUE(Valid("bob", "Bobs-Real-Secret"));
  EXPECT_TRUE(Valid("bob", "Bobs-Real-Secret"));
}

// Timing must not tell whether a subject exists: an unknown id costs a dummy Argon2id check
// at the policy's cost. Medians over many interleaved samples, compared with a wide margin.
TEST_F(PasswordsTest, UnknownSubjectCostsTheSameAsAKnownOne) {
  ASSERT_EQ(Put("timed", {{"password", "Timing-Secret-1"}}).status, 204);
  std::vector<double> known, unknown;
  for (int i = 0; i < 25; ++i) {
    auto t0 = Clock::now();
    EXPECT_TRUE(Valid("timed", "Timing-Secret-1"));
    auto t1 = Clock::now();
    EXPECT_FALSE(Valid("ghost-" + std::to_string(i), "Timing-Secret-1"));
    auto t2 = Clock::now();
    known.push_back(std::chrono::duration<double>(t1 - t0).count());
    unknown.push_back(std::chrono::duration<double>(t2 - t1).count());
  }
  std::sort(known.begin(), known.end());
  std::sort(unknown.begin(), unknown.end());
  const double mk = known[known.size() / 2], mu = unknown[unknown.size() / 2];
  // Without the dummy hash an unknown id answers in well under a tenth of the time.
  EXPECT_GT(mu, 0.5 * mk) << "known " << mk << " s, unknown " << mu << " s";
  EXPECT_LT(mu, 2.0 * mk) << "known " << mk << " s, unknown " << mu << " s";
}

TEST_F(PasswordsTest, AfterErasureNothingVerifiesAndNoFileHoldsTheSecrets) {
  const std::string pw = "Erase-Me-Password-5e1b";
  const std::string bcrypt_pw = "Erase-Me-Bcrypt-77aa";
  const std::string hash = Bcrypt(bcrypt_pw, "$2b$");
  ASSERT_EQ(Put("dave", {{"password", pw}}).status, 204);
  ASSERT_EQ(Put("erin", {{"hash", hash}}).status, 204);
  EXPECT_TRUE(Valid("dave", pw));
  for (const char* sid : {"dave", "erin"}) {
    const HttpResult e = server_->CallJson("POST", std::string("/v1/subjects/") + sid + "/erasure",
                                           dpo_, {{"mode", "immediate"}, {"reason", "asked"}});
    ASSERT_EQ(e.status, 200) << e.body;
  }
  EXPECT_FALSE(Valid("dave", pw));
  EXPECT_FALSE(Valid("erin", bcrypt_pw));
  EXPECT_EQ(Put("dave", {{"password", pw}}).status, 410);
  const std::string dir = server_->data_dir();
  server_->Terminate();
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = ReadFile(e.path().string());
    for (const std::string& secret : {pw, bcrypt_pw, hash, hash.substr(7, 22)}) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << e.path() << " holds a secret";
    }
    EXPECT_EQ(bytes.find("$argon2id$"), std::string::npos) << e.path();
  }
  server_->Restart({"--sweep-interval", "0"});
}

TEST(PasswordPepperTest, PepperedServerVerifiesAndUpgradesUnpepperedImports) {
  std::string policy = GraceZeroPolicyYaml();
  policy.insert(policy.find("audit:"), "passwords: {pepper: true}\n");
  auto server = ServerProcess::Start({policy});
  const std::string app = server->CreateToken("app", {"service"});
  const std::string dpo = server->CreateToken("dpo", {});
  ASSERT_EQ(server->CallJson("PUT", PathOf("p1"), app, {{"password", "Peppered-Pass-1"}}).status,
            204);
  auto valid = [&](const std::string& sid, const std::string& pw) {
    return server->CallJson("POST", PathOf(sid) + "/verify", app, {{"password", pw}})
        .Json()
        .value("valid", false);
  };
  EXPECT_TRUE(valid("p1", "Peppered-Pass-1"));
  EXPECT_FALSE(valid("p1", "Peppered-Pass-2"));
  // An Argon2id hash made elsewhere (no pepper) at the policy's cost still verifies once, and
  // is re-made with the pepper: the stored one is replaced although its cost is enough.
  char out[256];
  const std::string salt = "pepper-salt-0123";
  ASSERT_EQ(argon2id_hash_encoded(2, 19456, 1, "Imported-1", 10, salt.data(), salt.size(), 32, out,
                                  sizeof out),
            ARGON2_OK);
  ASSERT_EQ(server->CallJson("PUT", PathOf("p2"), app, {{"hash", out}}).status, 204);
  EXPECT_TRUE(valid("p2", "Imported-1"));
  EXPECT_TRUE(valid("p2", "Imported-1"));
  EXPECT_EQ(server->Call("GET", PathOf("p2"), dpo).Json()["algorithm"], "argon2id");
  const HttpResult policy_json = server->Call("GET", "/v1/policy", app);
  EXPECT_EQ(policy_json.Json()["passwords"]["pepper"], true);
}

// 500 verify requests at once: they take at most a quarter of the workers (the rest are
// answered 503 with Retry-After at once), so a record GET stays fast, and the Argon2 memory
// is bounded by the gate, not by the number of requests.
TEST(PasswordLoadTest, FiveHundredConcurrentVerifiesNeitherStarveGetsNorGrowMemory) {
  auto server = ServerProcess::Start({"", {"--sweep-interval", "0", "--rate-limit", "0"}});
  const std::string app = server->CreateToken("app", {"service"});
  const std::string rec = "/v1/subjects/load/records/account/r1";
  ASSERT_EQ(server->CallJson("PUT", rec, app, {{"data", {{"name", "x"}}}}).status, 201);
  ASSERT_EQ(server->CallJson("PUT", PathOf("load"), app, {{"password", "Load-Pass-1"}}).status,
            204);
  const long before = ProcStatusKib("RssAnon", server->pid());
  std::atomic<bool> go{false};
  std::atomic<int> ok{0}, busy{0}, other{0};
  std::atomic<long> peak{before};
  std::vector<std::thread> clients;
  for (int i = 0; i < 500; ++i) {
    clients.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      const HttpResult r = server->CallJson("POST", PathOf("u" + std::to_string(i)) + "/verify",
                                            app, {{"password", "Load-Pass-1"}});
      if (r.status == 200) {
        ++ok;
      } else if (r.status == 503 && r.headers.count("Retry-After") == 1) {
        ++busy;
      } else {
        ++other;
      }
    });
  }
  go = true;
  double slowest = 0;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = Clock::now();
    EXPECT_EQ(server->Call("GET", rec, app).status, 200);
    slowest = std::max(slowest, std::chrono::duration<double>(Clock::now() - t0).count());
    peak = std::max(peak.load(), ProcStatusKib("RssAnon", server->pid()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& c : clients) c.join();
  peak = std::max(peak.load(), ProcStatusKib("RssAnon", server->pid()));
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(ok.load() + busy.load(), 500);
  std::printf(
      "500 verifies: %d checked, %d answered 503; slowest GET %.3f s; RssAnon %ld -> %ld KiB\n",
      ok.load(), busy.load(), slowest, before, peak.load());
  if (kSanitizedBuild) return;
  EXPECT_LT(slowest, 1.0) << "a GET waited behind the verifies";
  EXPECT_LT(peak.load() - before, 150 * 1024) << "RssAnon grew by more than 150 MB";
}

}  // namespace
}  // namespace vault::e2e
