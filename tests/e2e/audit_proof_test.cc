// End-to-end audit proof: signed checkpoints served to auditors and verified by openssl with
// the published public key; an audit entry edited, removed or reordered in the LMDB file
// (through the lmdb C API, the server stopped) found by `lethe audit verify` and
// GET /v1/audit/verify, saying where and what; `lethe receipt verify` exit codes and fields.
#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/wait.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "crypto/primitives.h"
#include "harness.h"
#include "vault/layout.h"

namespace vault::e2e {
namespace {

// Runs a shell command; its exit code and stdout+stderr.
CliResult Shell(const std::string& command) {
  CliResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string Bytes(const std::vector<std::uint8_t>& v) { return {v.begin(), v.end()}; }

// The published raw Ed25519 key as an SPKI PEM file (RFC 8410 DER prefix + 32 bytes).
std::string WritePublicKeyPem(const TempDir& dir, const std::string& public_key_base64) {
  const auto raw = crypto::FromBase64(public_key_base64);
  EXPECT_TRUE(raw && raw->size() == 32);
  const std::string der =
      std::string("\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00", 12) + Bytes(*raw);
  WriteFile(dir.Join("pub.der"), der);
  const CliResult r = Shell("openssl pkey -pubin -inform DER -in " + dir.Join("pub.der") +
                            " -out " + dir.Join("pub.pem"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return dir.Join("pub.pem");
}

// openssl's verdict on a signed object served by the vault: the signature over the RFC 8785
// form of the object without "signature" (nlohmann's sorted, compact dump, for these values).
CliResult OpensslVerify(const TempDir& dir, const std::string& pem, const json& signed_object) {
  json body = signed_object;
  body.erase("signature");
  WriteFile(dir.Join("msg"), body.dump());
  WriteFile(dir.Join("sig"),
            Bytes(*crypto::FromBase64(signed_object["signature"].get<std::string>())));
  return Shell("openssl pkeyutl -verify -pubin -inkey " + pem + " -rawin -in " + dir.Join("msg") +
               " -sigfile " + dir.Join("sig"));
}

std::unique_ptr<ServerProcess> StartWithCheckpointsEvery(int entries) {
  ServerProcess::Config config;
  config.policy_yaml = GraceZeroPolicyYaml();
  config.extra_args = {"--sweep-interval", "0", "--audit-checkpoint-entries",
                       std::to_string(entries)};
  return ServerProcess::Start(config);
}

void PutRecords(ServerProcess& s, int n) {
  for (int i = 0; i < n; ++i) {
    const HttpResult r = s.CallJson("PUT", "/v1/subjects/s1/records/account/r" + std::to_string(i),
                                    s.admin_token(), {{"data", {{"i", i}}}});
    ASSERT_EQ(r.status, 201) << r.body;
  }
}

TEST(AuditProofTest, CheckpointsAreServedToAuditorsAndVerifyWithOpenssl) {
  auto server = StartWithCheckpointsEvery(3);
  PutRecords(*server, 7);
  const std::string auditor = server->CreateToken("auditor", {});
  const std::string app = server->CreateToken("app", {"service"});
  EXPECT_TRUE(IsProblem(server->Call("GET", "/v1/audit/checkpoints", app), 403));
  EXPECT_TRUE(IsProblem(server->Call("GET", "/v1/audit/checkpoints?limit=0", auditor), 400));
  const HttpResult list = server->Call("GET", "/v1/audit/checkpoints", auditor);
  ASSERT_EQ(list.status, 200) << list.body;
  const json cps = list.Json()["checkpoints"];
  ASSERT_GE(cps.size(), 2u) << list.body;
  const json key = server->Call("GET", "/v1/receipts/public-key", auditor).Json();
  TempDir dir;
  const std::string pem = WritePublicKeyPem(dir, key["public_key"].get<std::string>());
  const json entries = server->Call("GET", "/v1/audit?limit=1000", auditor).Json()["entries"];
  for (const json& cp : cps) {
    EXPECT_EQ(cp["key_id"], key["key_id"]);
    EXPECT_EQ(cp["head"], entries[cp["seq"].get<std::size_t>() - 1]["hash"]);
    const CliResult ok = OpensslVerify(dir, pem, cp);
    EXPECT_EQ(ok.exit_code, 0) << ok.out;
    EXPECT_NE(ok.out.find("Signature Verified Successfully"), std::string::npos) << ok.out;
    json moved = cp;
    moved["seq"] = cp["seq"].get<std::uint64_t>() + 1;  // the signature binds the seq too
    EXPECT_NE(OpensslVerify(dir, pem, moved).exit_code, 0);
  }
  // Paged like /v1/audit.
  const json page = server->Call("GET", "/v1/audit/checkpoints?limit=1", auditor).Json();
  ASSERT_EQ(page["checkpoints"].size(), 1u);
  const std::string after = std::to_string(page["checkpoints"][0]["seq"].get<std::uint64_t>());
  const json next =
      server->Call("GET", "/v1/audit/checkpoints?after=" + after + "&limit=1", auditor).Json();
  ASSERT_EQ(next["checkpoints"].size(), 1u);
  EXPECT_EQ(next["checkpoints"][0]["seq"], cps[1]["seq"]);
  // Entries carry the purpose the app used.
  ASSERT_EQ(
      server
          ->CallJson("PUT", "/v1/subjects/s1/records/account/app", app, {{"data", json::object()}})
          .status,
      201);
  const json last = server->Call("GET", "/v1/audit?limit=1000", auditor).Json()["entries"].back();
  EXPECT_EQ(last["action"], "record.put");
  EXPECT_EQ(last["purpose"], "service");
}

// The audit table of a stopped server's store, opened with the lmdb C API.
class AuditTable {
 public:
  explicit AuditTable(const std::string& data_dir) {
    EXPECT_EQ(mdb_env_create(&env_), 0);
    mdb_env_set_maxdbs(env_, 64);
    mdb_env_set_mapsize(env_, 64ull << 30);
    EXPECT_EQ(mdb_env_open(env_, layout::StoreDir(data_dir).c_str(), 0, 0600), 0);
  }
  ~AuditTable() { mdb_env_close(env_); }
  AuditTable(const AuditTable&) = delete;
  AuditTable& operator=(const AuditTable&) = delete;

  // Calls edit(txn, dbi) in one write transaction on the audit table, then commits.
  void Edit(const std::function<void(MDB_txn*, MDB_dbi)>& edit) {
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env_, nullptr, 0, &txn), 0);
    MDB_dbi dbi = 0;
    ASSERT_EQ(mdb_dbi_open(txn, "audit", 0, &dbi), 0);
    edit(txn, dbi);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
  }
  static std::string Key(std::uint64_t seq) {
    std::string k(8, '\0');
    for (int i = 0; i < 8; ++i) k[7 - i] = static_cast<char>((seq >> (8 * i)) & 0xff);
    return k;
  }
  static std::string Get(MDB_txn* txn, MDB_dbi dbi, std::uint64_t seq) {
    std::string k = Key(seq);
    MDB_val key{k.size(), k.data()}, val{};
    EXPECT_EQ(mdb_get(txn, dbi, &key, &val), 0) << seq;
    return {static_cast<const char*>(val.mv_data), val.mv_size};
  }
  static void Put(MDB_txn* txn, MDB_dbi dbi, std::uint64_t seq, std::string value) {
    std::string k = Key(seq);
    MDB_val key{k.size(), k.data()}, val{value.size(), value.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &key, &val, 0), 0);
  }
  static void Del(MDB_txn* txn, MDB_dbi dbi, std::uint64_t seq) {
    std::string k = Key(seq);
    MDB_val key{k.size(), k.data()};
    ASSERT_EQ(mdb_del(txn, dbi, &key, nullptr), 0);
  }

 private:
  MDB_env* env_ = nullptr;
};

// `lethe audit verify --json` on the stopped server's data directory.
json CliVerify(const ServerProcess& s, int expected_exit) {
  const CliResult r = RunVaultOn(s, {"audit", "verify", "--data-dir", s.data_dir(), "--json"});
  EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
  return json::parse(r.out, nullptr, false);
}

TEST(AuditProofTest, EditedRemovedAndReorderedEntriesInTheLmdbFileAreFound) {
  LETHE_SKIP_ON_POSTGRES("edits the audit rows in the LMDB file with liblmdb");
  auto server = StartWithCheckpointsEvery(1000);
  PutRecords(*server, 8);
  ASSERT_EQ(server->Terminate(), 0);
  EXPECT_TRUE(CliVerify(*server, 0)["ok"].get<bool>());
  std::string saved3, saved4, saved5, saved6;
  {
    AuditTable table(server->data_dir());
    table.Edit([&](MDB_txn* txn, MDB_dbi dbi) {
      saved3 = AuditTable::Get(txn, dbi, 3);
      std::string edited = saved3;
      edited[20] ^= 0x01;  // one byte of the actor's token id
      AuditTable::Put(txn, dbi, 3, edited);
    });
  }
  json v = CliVerify(*server, 3);
  EXPECT_FALSE(v["ok"].get<bool>());
  EXPECT_EQ(v["first_bad_seq"], 3);
  EXPECT_NE(v["problem"].get<std::string>().find("edited"), std::string::npos) << v.dump();
  // The server says the same over HTTP.
  server->Restart({"--sweep-interval", "0"});
  const HttpResult http = server->Call("GET", "/v1/audit/verify", server->admin_token());
  ASSERT_EQ(http.status, 200) << http.body;
  EXPECT_FALSE(http.Json()["ok"].get<bool>());
  EXPECT_EQ(http.Json()["first_bad_seq"], 3);
  EXPECT_EQ(http.Json()["problem"], v["problem"]);
  ASSERT_EQ(server->Terminate(), 0);
  {
    AuditTable table(server->data_dir());
    table.Edit([&](MDB_txn* txn, MDB_dbi dbi) {
      AuditTable::Put(txn, dbi, 3, saved3);  // repaired
      saved4 = AuditTable::Get(txn, dbi, 4);
      AuditTable::Del(txn, dbi, 4);
    });
  }
  v = CliVerify(*server, 3);
  EXPECT_EQ(v["first_bad_seq"], 4);
  EXPECT_NE(v["problem"].get<std::string>().find("entry 4 is missing"), std::string::npos)
      << v.dump();
  {
    AuditTable table(server->data_dir());
    table.Edit([&](MDB_txn* txn, MDB_dbi dbi) {
      AuditTable::Put(txn, dbi, 4, saved4);
      saved5 = AuditTable::Get(txn, dbi, 5);
      saved6 = AuditTable::Get(txn, dbi, 6);
      AuditTable::Put(txn, dbi, 5, saved6);
      AuditTable::Put(txn, dbi, 6, saved5);
    });
  }
  v = CliVerify(*server, 3);
  EXPECT_EQ(v["first_bad_seq"], 5);
  EXPECT_NE(v["problem"].get<std::string>().find("the entry stored at seq 6 belongs at seq 5"),
            std::string::npos)
      << v.dump();
  {
    AuditTable table(server->data_dir());
    table.Edit([&](MDB_txn* txn, MDB_dbi dbi) {
      AuditTable::Put(txn, dbi, 5, saved5);
      AuditTable::Put(txn, dbi, 6, saved6);
    });
  }
  EXPECT_TRUE(CliVerify(*server, 0)["ok"].get<bool>());
}

TEST(AuditProofTest, ReceiptVerifyNamesTheFieldThatFails) {
  auto server = ServerProcess::Start({GraceZeroPolicyYaml()});
  PutRecords(*server, 1);
  const HttpResult erased =
      server->CallJson("POST", "/v1/subjects/s1/erasure", server->admin_token(),
                       {{"mode", "immediate"}, {"reason", "asked"}});
  ASSERT_EQ(erased.status, 200) << erased.body;
  const json receipt = erased.Json()["receipt"];
  const json key = server->Call("GET", "/v1/receipts/public-key", server->admin_token()).Json();
  const std::string pk = key["public_key"].get<std::string>();
  TempDir dir;
  WriteFile(dir.Join("erasure.json"), erased.body);
  WriteFile(dir.Join("receipt.json"), receipt.dump(2));
  WriteFile(dir.Join("key.json"), key.dump());
  const std::string pem = WritePublicKeyPem(dir, pk);
  for (const std::string& k : {pk, dir.Join("key.json"), pem}) {
    const CliResult ok =
        RunVault({"receipt", "verify", dir.Join("receipt.json"), "--public-key", k});
    EXPECT_EQ(ok.exit_code, 0) << k << ": " << ok.err;
    EXPECT_NE(ok.out.find("Receipt valid"), std::string::npos) << ok.out;
  }
  EXPECT_EQ(RunVault({"receipt", "verify", dir.Join("erasure.json"), "--public-key", pk}).exit_code,
            0);
  const auto verify_edited = [&](const std::function<void(json&)>& edit) {
    json r = receipt;
    edit(r);
    WriteFile(dir.Join("edited.json"), r.dump());
    return RunVault({"receipt", "verify", dir.Join("edited.json"), "--public-key", pk, "--json"});
  };
  CliResult bad = verify_edited([](json& r) { r["completed_at"] = "2020-01-01T00:00:00Z"; });
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(json::parse(bad.out)["field"], "signature") << bad.out;
  EXPECT_FALSE(json::parse(bad.out)["valid"].get<bool>());
  bad = verify_edited([](json& r) { r["completed_at"] = "yesterday"; });
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(json::parse(bad.out)["field"], "completed_at") << bad.out;
  bad = verify_edited([](json& r) { r.erase("shredded"); });
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(json::parse(bad.out)["field"], "shredded") << bad.out;
  EXPECT_NE(bad.err.find("shredded is missing"), std::string::npos) << bad.err;
  bad = verify_edited([](json& r) { r["key_id"] = "0123456789abcdef"; });
  EXPECT_EQ(json::parse(bad.out)["field"], "key_id") << bad.out;
  WriteFile(dir.Join("garbage.json"), "{not json");
  bad = RunVault({"receipt", "verify", dir.Join("garbage.json"), "--public-key", pk});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("receipt is not valid JSON"), std::string::npos) << bad.err;
  EXPECT_EQ(RunVault({"receipt", "verify", dir.Join("receipt.json")}).exit_code, 2);
  // With the data directory instead of a published key (the server stopped).
  ASSERT_EQ(server->Terminate(), 0);
  const CliResult local = RunVaultOn(
      *server, {"receipt", "verify", dir.Join("receipt.json"), "--data-dir", server->data_dir()});
  EXPECT_EQ(local.exit_code, 0) << local.err;
}

}  // namespace
}  // namespace vault::e2e
