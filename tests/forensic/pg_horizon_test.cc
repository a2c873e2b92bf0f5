// The shred horizon on PostgreSQL with the epoch keys in a PKCS#11 token (SoftHSM2): raw
// copies of the cluster's data directory (with pg_wal) and a pg_basebackup, taken before an
// erasure, and the data directory again after the horizon (dead tuples, WAL), attacked with
// every key the token still holds. Nothing of the erased subject's keys comes back; the other
// subjects' keys do, from the same copies, so the attack is shown to work.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "crypto/pkcs11.h"
#include "test_util.h"
#include "tests/hsm/softhsm.h"
#include "tests/pg_cluster.h"
#include "vault/epoch_token.h"
#include "vault/keyring_token.h"
#include "vault/root_sealer.h"

namespace vault {
namespace {

namespace fs = std::filesystem;
namespace p11 = crypto::pkcs11;
using nlohmann::json;
using testing::PgCluster;

constexpr std::size_t kEnvelopeBytes = 1 + p11::kGcmIvBytes + 32 + p11::kGcmTagBytes;
constexpr int kSubjects = 5;
constexpr int kVictim = 2;

std::string PgBin() {
  const char* bin = std::getenv("PG_BIN");
  return bin != nullptr ? bin : "/usr/lib/postgresql/15/bin";
}

std::string Shell(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << cmd;
  return out;
}

std::string Psql(const std::string& url, const std::string& sql) {
  return Shell(PgBin() + "/psql -X -q -At \"" + url + "\" -c \"" + sql + "\"");
}

// The wrapped DEKs in the live key slot rows (hex of 'S' | epoch | length | envelope).
std::set<std::string> LiveEnvelopes(const std::string& url) {
  std::set<std::string> out;
  const std::string text =
      Psql(url, "SELECT encode(substr(v, 11, " + std::to_string(kEnvelopeBytes) +
                    "), 'hex') FROM lethe_kv WHERE t = 'key_slots' AND get_byte(v, 0) = 83");
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.insert(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string Hex(std::span<const std::uint8_t> b) { return crypto::ToHex(b); }

// Every byte string in the files below dir that looks like a key slot holding a token
// envelope: 'S' | epoch (little-endian, small) | length 61 | 'T' ... (an attacker's scan).
void Harvest(const std::string& dir, std::set<std::string>* envelopes) {
  for (const auto& f : testing::FilesBelow(dir)) {
    const std::string b = testing::ReadFile(f);
    for (std::size_t i = 0; i + 10 + kEnvelopeBytes <= b.size(); ++i) {
      if (b[i] != 'S' || static_cast<std::uint8_t>(b[i + 9]) != kEnvelopeBytes ||
          b[i + 10] != 'T' || b[i + 3] != 0 || b[i + 8] != 0) {
        continue;
      }
      envelopes->insert(Hex(crypto::AsBytes(std::string_view(b).substr(i + 10, kEnvelopeBytes))));
    }
  }
}

std::vector<std::uint8_t> Unhex(const std::string& hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// The DEK behind each envelope, unwrapped by keyring (the test's knowledge, not the attacker's).
std::set<std::string> Deks(const Keyring& keyring, const std::set<std::string>& envelopes,
                           std::uint64_t epoch) {
  std::set<std::string> out;
  for (const auto& e : envelopes) {
    crypto::SecretBytes dek;
    const Status s = keyring.UnwrapDek(Unhex(e), epoch, &dek);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (s.ok()) out.insert(Hex(dek.secret_span()));
  }
  return out;
}

// The attacker: every envelope found, tried with every key object left in the token, under
// the associated data of every epoch there has been.
std::set<std::string> Attack(const std::set<std::string>& envelopes, std::uint64_t max_epoch) {
  p11::Result r;
  const auto pin =
      crypto::SecretBytes::ImportCleartext(crypto::AsBytes(testing::SoftHsmToken::kPin));
  auto session =
      p11::Session::Open(testing::SoftHsmToken::Module(), testing::SoftHsmToken::kLabel, pin, &r);
  EXPECT_NE(session, nullptr) << r.message();
  std::vector<p11::KeyObject> keys;
  EXPECT_TRUE(session->ListKeys("", &keys).ok());
  std::set<std::string> deks;
  for (const auto& hex : envelopes) {
    const auto env = Unhex(hex);
    const auto iv = std::span(env).subspan(1, p11::kGcmIvBytes);
    const auto sealed = std::span(env).subspan(1 + p11::kGcmIvBytes);
    for (const auto& k : keys) {
      for (std::uint64_t e = 1; e <= max_epoch; ++e) {
        crypto::SecretBytes dek;
        if (session->DecryptGcm(k.handle, iv, Keyring::DekWrapContext(e), sealed, &dek).ok()) {
          deks.insert(Hex(dek.secret_span()));
        }
      }
    }
  }
  return deks;
}

TEST(PgShredHorizonTest, CopiesOfTheClusterGiveUpNothingOfTheErasedSubjectAfterTheHorizon) {
  std::string url;
  LETHE_PG_DATABASE_OR_SKIP(url);
  const std::string dir = testing::MakeTempDir("pgforensic");
  VAULT_SOFTHSM_TOKEN(token, dir);
  const std::string cluster = PgCluster::Get()->dir();
  auto root = RootKeyFromPkcs11(token.Spec("pgf-root"), true).value();
  auto clock = std::make_shared<ManualClock>(1795381680);
  testing::WriteFile(dir + "/policy.yaml", testing::PolicyWithHorizon("0d"));
  Options o;
  o.data_dir = dir + "/data";
  o.store = url;
  o.root_key = root;
  o.clock = clock;
  o.policy_path = dir + "/policy.yaml";
  o.create_if_missing = true;
  o.dek_cache_ttl = std::chrono::seconds(0);
  auto v = Vault::Open(o);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const Actor admin{"forensic", Role::kAdmin}, dpo{"forensic-dpo", Role::kDpo};
  for (int i = 0; i < kSubjects; ++i) {
    const std::string s = "pg-subject-" + std::to_string(i);
    ASSERT_TRUE((*v)->PutRecord(admin, s, "account", "p", json{{"m", "marker-" + s}}).ok());
    ASSERT_TRUE((*v)->PutRecord(admin, s, "billing", "b", json{{"m", "bill-" + s}}).ok());
  }
  const std::set<std::string> before = LiveEnvelopes(url);

  // 1. Copies before the erasure: the data directory with its WAL, and a base backup.
  Psql(url, "CHECKPOINT");
  fs::copy(cluster + "/data", dir + "/copy-before", fs::copy_options::recursive);
  Shell(PgBin() + "/pg_basebackup -h " + cluster + " -p 5432 -U postgres -c fast -X stream -D " +
        dir + "/basebackup 2>&1");
  ASSERT_TRUE(fs::exists(dir + "/basebackup/PG_VERSION"));

  // 2. The erasure: the victim's slots are overwritten with zeros (in the live row only).
  auto e = (*v)->RequestErasure(dpo, "pg-subject-" + std::to_string(kVictim), "immediate", "test");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const std::set<std::string> after = LiveEnvelopes(url);
  std::set<std::string> victim, others;
  for (const auto& env : before) (after.count(env) != 0 ? others : victim).insert(env);
  ASSERT_GE(victim.size(), 2u);  // the _subject key and the account and billing keys
  ASSERT_GE(others.size(), 2u * (kSubjects - 1));
  // What the test knows (not the attacker): the DEKs behind them, while epoch 1 lives.
  std::set<std::string> victim_deks, other_deks;
  {
    auto sealer = SealerOf(*root).value();
    TokenKeyring::Settings s;
    s.dek_cache_ttl = std::chrono::seconds(0);
    s.sessions = 1;
    auto k = TokenKeyring::Open(*EpochTokenOf(*root), sealer, std::nullopt, 0, s).value();
    victim_deks = Deks(*k, victim, 1);
    other_deks = Deks(*k, others, 1);
  }

  // 3. The horizon: a rotation rewraps the live DEKs under epoch 2 and (horizon 0d)
  // destroys epoch 1's key object in the token.
  clock->Advance(60);
  auto rot = (*v)->RotateEpoch(admin);
  ASSERT_TRUE(rot.ok()) << rot.status().ToString();
  ASSERT_EQ(rot->destroyed_epochs, std::vector<std::uint64_t>{1});
  v->reset();
  Psql(url, "CHECKPOINT");
  fs::copy(cluster + "/data", dir + "/copy-after", fs::copy_options::recursive);

  // 4. The attacker holds every copy and the token's remaining keys.
  std::set<std::string> found;
  for (const char* copy : {"/copy-before", "/basebackup", "/copy-after"})
    Harvest(dir + copy, &found);
  for (const auto& env : victim) EXPECT_EQ(found.count(env), 1u) << "the copies hold it";
  const std::set<std::string> recovered = Attack(found, 3);
  std::size_t victim_recovered = 0;
  for (const auto& d : victim_deks) {
    victim_recovered += recovered.count(d);
    EXPECT_EQ(recovered.count(d), 0u) << "an erased DEK came back";
  }
  for (const auto& d : other_deks) EXPECT_EQ(recovered.count(d), 1u) << "another subject's DEK";
  EXPECT_EQ(testing::FindMarkers(dir, {"marker-pg-subject-2", "bill-pg-subject-0"}),
            std::vector<std::string>{});
  std::printf(
      "envelopes found in the copies: %zu; DEKs recovered: %zu (the erased subject's: %zu "
      "of %zu)\n",
      found.size(), recovered.size(), victim_recovered, victim_deks.size());
}

}  // namespace
}  // namespace vault
