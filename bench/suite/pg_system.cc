// PostgreSQL as the system under test (pg_system.h). Every write is its own transaction,
// committed with the server's synchronous_commit (the suite starts it with "on").
#include "bench/suite/pg_system.h"

#include <libpq-fe.h>
#include <sodium.h>

#include <array>
#include <vector>

namespace bench {
namespace {

constexpr std::size_t kKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

// pgcrypto's symmetric PGP with a random 256-bit key as the passphrase: AES-256, and a salted
// S2K without iterations (s2k-mode=1): a random key needs no stretching, so this is the
// fastest configuration a careful user would pick.
constexpr char kPgpOptions[] = "cipher-algo=aes256, s2k-mode=1";

struct Statement {
  const char* name;
  std::string sql;
};

// The statements, per encryption mode. $1 subject id, $2 record id, $3 data, $4 key.
std::vector<Statement> Statements(PgCrypto crypto) {
  const bool pgc = crypto == PgCrypto::kPgcrypto;
  const std::string enc = pgc ? std::string("pgp_sym_encrypt($3, $4, '") + kPgpOptions + "')"
                              : std::string("$3::bytea");
  const std::string dec = pgc ? "pgp_sym_decrypt(data, $3)" : "data";
  const std::string list_dec = pgc ? "pgp_sym_decrypt(data, $3)" : "data";
  const std::string insert =
      "INSERT INTO records (subject_id, category, record_id, data) VALUES ($1, 'account', $2, " +
      enc + ")";
  return {
      {"put_new", "WITH s AS (INSERT INTO subjects (subject_id) VALUES ($1)) " + insert},
      {"put_existing", insert},
      {"get", "SELECT " + dec +
                  " FROM records WHERE subject_id = $1 AND category = 'account' AND "
                  "record_id = $2"},
      {"list", "SELECT record_id, " + list_dec +
                   " FROM records WHERE subject_id = $1 AND category = 'account' "
                   "ORDER BY record_id LIMIT $2::int"},
      {"erase",
       "WITH r AS (DELETE FROM records WHERE subject_id = $1) "
       "DELETE FROM subjects WHERE subject_id = $1"},
  };
}

// Owns a PGresult; throws BenchError unless its status is one of the expected ones.
class Result {
 public:
  Result(PGconn* conn, PGresult* r, const char* what) : r_(r) {
    const auto st = PQresultStatus(r_);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string msg = std::string("postgresql ") + what + ": " + PQerrorMessage(conn);
      PQclear(r_);
      throw BenchError(msg);
    }
  }
  ~Result() { PQclear(r_); }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  PGresult* get() const { return r_; }

 private:
  PGresult* r_;
};

PGconn* ConnectOrThrow(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = std::string("postgresql connect: ") + PQerrorMessage(c);
    PQfinish(c);
    throw BenchError(msg);
  }
  return c;
}

void Exec(PGconn* c, const std::string& sql) { Result r(c, PQexec(c, sql.c_str()), "exec"); }

class PgSession : public Session {
 public:
  PgSession(const std::string& conninfo, PgCrypto crypto, const std::string& pgp_key,
            const std::array<unsigned char, kKeyBytes>& key)
      : conn_(ConnectOrThrow(conninfo)), crypto_(crypto), pgp_key_(pgp_key), key_(key) {
    for (const auto& s : Statements(crypto)) {
      Result r(conn_, PQprepare(conn_, s.name, s.sql.c_str(), 0, nullptr), s.name);
    }
  }
  ~PgSession() override { PQfinish(conn_); }
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  void Put(const std::string& sid, const std::string& rid, bool new_subject) override {
    std::string data = crypto_ == PgCrypto::kSodium ? Seal(sid, rid) : RecordJson();
    std::vector<const char*> v = {sid.c_str(), rid.c_str(), data.data()};
    std::vector<int> len = {0, 0, static_cast<int>(data.size())};
    std::vector<int> fmt = {0, 0, crypto_ == PgCrypto::kSodium ? 1 : 0};
    if (crypto_ == PgCrypto::kPgcrypto) {
      v.push_back(pgp_key_.c_str());
      len.push_back(0);
      fmt.push_back(0);
    }
    Run(new_subject ? "put_new" : "put_existing", v, len, fmt);
  }

  void Get(const std::string& sid, const std::string& rid) override {
    const std::size_t n = Select("get", {sid, rid}, 0);
    if (n != 1) throw BenchError("postgresql get: no row for " + sid + "/" + rid);
  }

  std::size_t List(const std::string& sid, std::size_t limit) override {
    return Select("list", {sid, std::to_string(limit)}, 1);
  }

  void Erase(const std::string& sid) override { Run("erase", {sid.c_str()}, {0}, {0}); }

 private:
  void Run(const char* stmt, const std::vector<const char*>& v, const std::vector<int>& len,
           const std::vector<int>& fmt) {
    Result r(conn_,
             PQexecPrepared(conn_, stmt, static_cast<int>(v.size()), v.data(), len.data(),
                            fmt.data(), 1),
             stmt);
  }

  // Runs a SELECT with text parameters (plus the pgcrypto key); decrypts column `col` of
  // every row in the client when the client holds the key. Returns the row count.
  std::size_t Select(const char* stmt, std::vector<std::string> params, int col) {
    if (crypto_ == PgCrypto::kPgcrypto) params.push_back(pgp_key_);
    std::vector<const char*> v;
    for (const auto& p : params) v.push_back(p.c_str());
    Result r(conn_,
             PQexecPrepared(conn_, stmt, static_cast<int>(v.size()), v.data(), nullptr, nullptr, 1),
             stmt);
    const int rows = PQntuples(r.get());
    for (int i = 0; i < rows && crypto_ == PgCrypto::kSodium; ++i) {
      const std::string rid = col == 0 ? params[1] : std::string(PQgetvalue(r.get(), i, 0));
      Open(params[0], rid, PQgetvalue(r.get(), i, col),
           static_cast<std::size_t>(PQgetlength(r.get(), i, col)));
    }
    return static_cast<std::size_t>(rows);
  }

  // nonce || XChaCha20-Poly1305(record), bound to the subject and record id.
  std::string Seal(const std::string& sid, const std::string& rid) const {
    const std::string ad = sid + "/" + rid;
    const std::string& pt = RecordJson();
    std::string out(kNonceBytes + pt.size() + kTagBytes, '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    randombytes_buf(o, kNonceBytes);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        o + kNonceBytes, &clen, reinterpret_cast<const unsigned char*>(pt.data()), pt.size(),
        reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, o, key_.data());
    return out;
  }

  void Open(const std::string& sid, const std::string& rid, const char* c, std::size_t n) {
    const std::string ad = sid + "/" + rid;
    if (n < kNonceBytes + kTagBytes) throw BenchError("postgresql: short ciphertext");
    plain_.resize(n - kNonceBytes - kTagBytes);
    const auto* u = reinterpret_cast<const unsigned char*>(c);
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            plain_.data(), &plen, nullptr, u + kNonceBytes, n - kNonceBytes,
            reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), u, key_.data()) != 0) {
      throw BenchError("postgresql: a record does not decrypt");
    }
  }

  PGconn* conn_;
  PgCrypto crypto_;
  std::string pgp_key_;
  std::array<unsigned char, kKeyBytes> key_;
  std::vector<unsigned char> plain_;
};

class PgSystem : public System {
 public:
  PgSystem(std::string conninfo, PgCrypto crypto)
      : conninfo_(std::move(conninfo)), crypto_(crypto) {
    randombytes_buf(key_.data(), key_.size());
    std::array<unsigned char, 32> k{};
    randombytes_buf(k.data(), k.size());
    pgp_key_.resize(64);
    sodium_bin2hex(pgp_key_.data(), pgp_key_.size() + 1, k.data(), k.size());
  }
  std::unique_ptr<Session> Connect() override {
    return std::make_unique<PgSession>(conninfo_, crypto_, pgp_key_, key_);
  }
  // Large seeds (the erasure workloads, which never read the data) are made in the server
  // by generate_series in 10,000-row statements, pgcrypto-encrypted in both modes.
  void Seed(const std::string& sid, std::uint64_t count) override {
    if (count <= 10000) return System::Seed(sid, count);
    PGconn* c = ConnectOrThrow(conninfo_);
    try {
      Exec(c, "INSERT INTO subjects (subject_id) VALUES ('" + sid + "')");
      for (std::uint64_t from = 0; from < count; from += 10000) {
        const std::uint64_t to = std::min(count, from + 10000) - 1;
        Exec(c, "INSERT INTO records SELECT '" + sid + "', 'account', 'r' || g, " +
                    "pgp_sym_encrypt('" + RecordJson() + "', '" + pgp_key_ + "', '" + kPgpOptions +
                    "') FROM generate_series(" + std::to_string(from) + ", " + std::to_string(to) +
                    ") g");
      }
    } catch (...) {
      PQfinish(c);
      throw;
    }
    PQfinish(c);
  }

 private:
  std::string conninfo_;
  PgCrypto crypto_;
  std::string pgp_key_;
  std::array<unsigned char, kKeyBytes> key_{};
};

}  // namespace

std::unique_ptr<System> MakePgSystem(const std::string& conninfo, PgCrypto crypto) {
  return std::make_unique<PgSystem>(conninfo, crypto);
}

void CreatePgSchema(const std::string& conninfo) {
  PGconn* c = ConnectOrThrow(conninfo);
  try {
    Exec(c, "CREATE EXTENSION IF NOT EXISTS pgcrypto");
    Exec(c, "DROP TABLE IF EXISTS records, subjects");
    Exec(c,
         "CREATE TABLE subjects (subject_id text PRIMARY KEY, "
         "created_at timestamptz NOT NULL DEFAULT now())");
    Exec(c,
         "CREATE TABLE records (subject_id text NOT NULL, category text NOT NULL, "
         "record_id text NOT NULL, data bytea NOT NULL, "
         "created_at timestamptz NOT NULL DEFAULT now(), "
         "PRIMARY KEY (subject_id, category, record_id))");
  } catch (...) {
    PQfinish(c);
    throw;
  }
  PQfinish(c);
}

}  // namespace bench
