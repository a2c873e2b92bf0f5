// The PostgreSQL backend of the storage seam: every table in one key-value table keyed by
// (table name, key); SERIALIZABLE write transactions, REPEATABLE READ READ ONLY reads, scans
// in pages. Several servers may share the database (docs/design.md "Storage backends").
#include "vault/store_pg.h"

#include <condition_variable>
#include <deque>
#include <vector>

#include "vault/pg_conn.h"

namespace vault {
namespace {

using pg::Conn;
using pg::Failure;
using pg::Stmt;

// Reader connections per server (each is a PostgreSQL backend process): a burst of reads
// waits for one rather than opening more, so three servers stay well under the default
// max_connections of 100.
constexpr std::size_t kMaxReaders = 16;
// How many reader connections this thread holds: a read nested in a read never waits for
// the pool (it could wait for itself).
thread_local int t_readers_held = 0;
constexpr std::size_t kFirstPage = 64;  // rows of a scan's first page; doubling up to:
constexpr std::size_t kMaxPage = 1024;
// Serializes Exclusive() functions (epoch rotation, slot scrubbing) across servers.
constexpr const char* kExclusiveLock = "SELECT pg_advisory_lock(7305950722)";
constexpr const char* kExclusiveUnlock = "SELECT pg_advisory_unlock(7305950722)";

// The smallest key greater than every key that starts with prefix; "" when there is none.
std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

// A transaction on one connection. A failed statement aborts the PostgreSQL transaction:
// the failure is kept (error()) and every later call fails or finds nothing; the Store
// reports it in place of the operation's result (or runs the batch again on a conflict).
class PgTxn final : public WriteTxn {
 public:
  explicit PgTxn(Conn& conn) : conn_(conn) {}
  ~PgTxn() override {
    if (open_) (void)conn_.Command("ROLLBACK");
  }
  Status Begin(bool write);

  std::optional<std::string_view> Get(Table t, std::string_view key) const override;
  using Txn::Put;
  Status Put(Table t, std::string_view key, std::string_view value) override;
  Status Append(Table t, std::string_view key, std::string_view value) override;
  Status Del(Table t, std::string_view key) override;
  std::uint64_t Count(Table t) const override;
  Status Commit() override;
  void Abort() override;
  bool Conflicted() const override { return conflict_; }
  Status Error() const override { return error_; }

 private:
  Status Scan(Table t, std::string_view from, std::string_view prefix,
              const Update& fn) const override;
  pg::Result Run(Stmt s, Table t, std::initializer_list<Conn::Param> params) const;
  Status Note(const Failure& f) const;

  Conn& conn_;
  bool open_ = false;
  mutable Status error_;
  mutable bool conflict_ = false;
  mutable std::deque<std::string> owned_;  // what Get returned: valid until the end
};

Status PgTxn::Note(const Failure& f) const {
  if (!f.status.ok() && error_.ok()) {
    error_ = f.status;
    conflict_ = f.conflict;
  }
  return f.status;
}

Status PgTxn::Begin(bool write) {
  const Failure f = conn_.Command(write ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                                        : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  open_ = f.status.ok();
  return f.status;
}

pg::Result PgTxn::Run(Stmt s, Table t, std::initializer_list<Conn::Param> params) const {
  if (!error_.ok()) return nullptr;
  Failure f;
  pg::Result r = conn_.Run(s, TableName(t), params, &f);
  (void)Note(f);
  return r;
}

std::optional<std::string_view> PgTxn::Get(Table t, std::string_view key) const {
  pg::Result r = Run(Stmt::kGet, t, {{key}});
  if (!r || PQntuples(r.get()) == 0) return std::nullopt;
  return owned_.emplace_back(pg::Value(r.get(), 0, 0));
}

Status PgTxn::Put(Table t, std::string_view key, std::string_view value) {
  return Run(Stmt::kPut, t, {{key}, {value}}) ? Status::Ok() : error_;
}

Status PgTxn::Append(Table t, std::string_view key, std::string_view value) {
  pg::Result later = Run(Stmt::kAtOrAfter, t, {{key}});
  if (!later) return error_;
  if (PQntuples(later.get()) != 0) {
    return DataLoss("an append would not go past the last key (sequence out of order)");
  }
  return Run(Stmt::kInsert, t, {{key}, {value}}) ? Status::Ok() : error_;
}

Status PgTxn::Del(Table t, std::string_view key) {
  return Run(Stmt::kDel, t, {{key}}) ? Status::Ok() : error_;
}

std::uint64_t PgTxn::Count(Table t) const {
  pg::Result r = Run(Stmt::kCount, t, {});
  if (!r || PQntuples(r.get()) != 1) return 0;
  return std::stoull(PQgetvalue(r.get(), 0, 0));
}

// Pages of growing size from `from`, each one query; the snapshot keeps them consistent.
Status PgTxn::Scan(Table t, std::string_view from, std::string_view prefix,
                   const Update& fn) const {
  const std::string end = prefix.empty() ? std::string() : PrefixEnd(prefix);
  std::string cursor(from);
  for (std::size_t page = kFirstPage;; page = std::min(page * 2, kMaxPage)) {
    const std::string limit = std::to_string(page);
    pg::Result r = end.empty() ? Run(Stmt::kScan, t, {{cursor}, {limit, true}})
                               : Run(Stmt::kScanBounded, t, {{cursor}, {end}, {limit, true}});
    if (!r) return error_;
    const int rows = PQntuples(r.get());
    for (int i = 0; i < rows; ++i) {
      const std::string_view k = pg::Value(r.get(), i, 0);
      if (k.substr(0, prefix.size()) != prefix) return Status::Ok();
      StatusOr<Step> step = fn(k, pg::Value(r.get(), i, 1));
      if (!step.ok()) return step.status();
      if (step->value && !Run(Stmt::kPut, t, {{k}, {*step->value}})) return error_;
      if (step->stop) return Status::Ok();
    }
    if (static_cast<std::size_t>(rows) < page) return Status::Ok();
    cursor = KeyAfter(pg::Value(r.get(), rows - 1, 0));
  }
}

Status PgTxn::Commit() {
  if (!error_.ok()) {
    Abort();
    return error_;
  }
  open_ = false;
  return Note(conn_.Command("COMMIT"));
}

void PgTxn::Abort() {
  if (open_) (void)conn_.Command("ROLLBACK");
  open_ = false;
}

class PgBackend final : public StoreBackend {
 public:
  PgBackend(std::string conninfo, std::shared_ptr<pg::AbandonFlag> abandon)
      : conninfo_(std::move(conninfo)),
        abandon_(abandon ? std::move(abandon) : std::make_shared<pg::AbandonFlag>(false)) {}
  StatusOr<std::unique_ptr<WriteTxn>> BeginWrite() override;
  Status Read(const std::function<Status(Txn&)>& fn) const override EXCLUDES(mu_);
  Status LockExclusive() override;
  void UnlockExclusive() override;
  Status CopyCompactTo(int) const override {
    return InvalidArgument(
        "lethe backup copies LMDB stores; back up PostgreSQL with its own tools");
  }
  std::uint64_t UsedBytes() const override { return 0; }
  const char* Name() const override { return "postgresql"; }

 private:
  StatusOr<std::unique_ptr<Conn>> Connect() const;
  StatusOr<std::unique_ptr<Conn>> TakeReader(bool fresh) const EXCLUDES(mu_);
  void ReturnReader(std::unique_ptr<Conn> conn) const EXCLUDES(mu_);
  static Status ReadIn(Conn& conn, const std::function<Status(Txn&)>& fn, bool* begun);
  Status EnsureWriter();

  const std::string conninfo_;
  const std::shared_ptr<pg::AbandonFlag> abandon_;  // before the connections that read it
  std::unique_ptr<Conn> writer_;                    // the Store's writer thread only
  mutable Mutex mu_;
  mutable std::vector<std::unique_ptr<Conn>> idle_ GUARDED_BY(mu_);
  mutable std::size_t open_readers_ GUARDED_BY(mu_) = 0;  // idle or in use
  mutable std::condition_variable reader_back_;
};

StatusOr<std::unique_ptr<Conn>> PgBackend::Connect() const {
  VAULT_ASSIGN_OR_RETURN(auto conn, Conn::Open(conninfo_, abandon_.get()));
  VAULT_RETURN_IF_ERROR(conn->Prepare());
  return conn;
}

Status PgBackend::EnsureWriter() {
  if (writer_ && !writer_->Broken()) return Status::Ok();
  writer_.reset();  // reconnect: libpq picks the read-write host of a multi-host conninfo
  VAULT_ASSIGN_OR_RETURN(writer_, Connect());
  return Status::Ok();
}

// The transaction is on the writer's connection and begun here. A connection that went
// away while idle is only noticed when used: then once more on a new one.
StatusOr<std::unique_ptr<WriteTxn>> PgBackend::BeginWrite() {
  for (int attempt = 0;; ++attempt) {
    VAULT_RETURN_IF_ERROR(EnsureWriter());
    auto txn = std::make_unique<PgTxn>(*writer_);
    const Status begun = txn->Begin(true);
    if (begun.ok()) return std::unique_ptr<WriteTxn>(std::move(txn));
    if (attempt > 0 || !writer_->Broken()) return begun;
  }
}

// An idle connection, or a new one while fewer than kMaxReaders are open; else waits for
// one to come back. fresh (a pooled connection was found broken, as all are after a
// failover): the idle ones are dropped and a new one opened.
StatusOr<std::unique_ptr<Conn>> PgBackend::TakeReader(bool fresh) const {
  {
    MutexLock lock(mu_);
    if (fresh) {
      open_readers_ -= idle_.size();
      idle_.clear();
    }
    while (idle_.empty() && open_readers_ >= kMaxReaders && t_readers_held == 0) {
      if (abandon_->load()) {
        return Status(Code::kUnavailable, Conn::kGaveUp);
      }
      (void)lock.WaitUntil(reader_back_, std::chrono::steady_clock::now() +
                                             std::chrono::milliseconds(Conn::kAbandonPollMs));
    }
    ++t_readers_held;
    if (!idle_.empty()) {
      std::unique_ptr<Conn> conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_readers_;
  }
  auto conn = Connect();
  if (!conn.ok()) ReturnReader(nullptr);
  return conn;
}

// Back to the pool; a broken connection (or none), or one a nested read opened past the
// bound, is closed instead and frees its place.
void PgBackend::ReturnReader(std::unique_ptr<Conn> conn) const {
  --t_readers_held;
  {
    MutexLock lock(mu_);
    if (conn != nullptr && !conn->Broken() && open_readers_ <= kMaxReaders) {
      idle_.push_back(std::move(conn));
    } else {
      --open_readers_;
    }
  }
  reader_back_.notify_one();
}

Status PgBackend::Read(const std::function<Status(Txn&)>& fn) const {
  for (int attempt = 0;; ++attempt) {  // as BeginWrite: a stale pooled connection once
    VAULT_ASSIGN_OR_RETURN(std::unique_ptr<Conn> conn, TakeReader(attempt > 0));
    bool begun = false;
    Status s = ReadIn(*conn, fn, &begun);
    const bool retry = !begun && attempt == 0 && conn->Broken();
    ReturnReader(std::move(conn));  // after the transaction has ended on it
    if (!retry) return s;
  }
}

// One read-only transaction on conn; *begun says whether it could begin.
Status PgBackend::ReadIn(Conn& conn, const std::function<Status(Txn&)>& fn, bool* begun) {
  PgTxn txn(conn);
  Status s = txn.Begin(false);
  *begun = s.ok();
  if (!s.ok()) return s;
  s = fn(txn);
  if (!txn.Error().ok()) s = txn.Error();  // a failed read found nothing: not an answer
  if (s.ok()) return txn.Commit();
  txn.Abort();
  return s;
}

Status PgBackend::LockExclusive() {
  VAULT_RETURN_IF_ERROR(EnsureWriter());
  Failure f;
  (void)writer_->Query(kExclusiveLock, &f);
  return f.status;
}

void PgBackend::UnlockExclusive() {
  if (!writer_ || writer_->Broken()) return;  // a lost session released its locks
  Failure f;
  (void)writer_->Query(kExclusiveUnlock, &f);
}

// Schema steps: steps[i] takes the schema from version i to i + 1.
constexpr const char* kMigrations[kPgSchemaVersion] = {
    "CREATE TABLE IF NOT EXISTS lethe_kv (t text NOT NULL, k bytea NOT NULL, v bytea NOT NULL, "
    "PRIMARY KEY (t, k))",
};

int SchemaVersion(Conn& conn, Status* st) {
  Failure f;
  pg::Result r = conn.Query("SELECT version FROM lethe_schema WHERE id = 1", &f);
  *st = f.status;
  if (!r || PQntuples(r.get()) != 1) return 0;
  return std::stoi(PQgetvalue(r.get(), 0, 0));
}

// Creates or migrates the schema in one transaction (a second init waits on the row lock).
Status Migrate(Conn& conn) {
  VAULT_RETURN_IF_ERROR(conn.Command("BEGIN").status);
  VAULT_RETURN_IF_ERROR(conn.Command("CREATE TABLE IF NOT EXISTS lethe_schema (id int PRIMARY "
                                     "KEY, version int NOT NULL)")
                            .status);
  VAULT_RETURN_IF_ERROR(
      conn.Command("INSERT INTO lethe_schema VALUES (1, 0) ON CONFLICT (id) DO NOTHING").status);
  Failure f;
  pg::Result r = conn.Query("SELECT version FROM lethe_schema WHERE id = 1 FOR UPDATE", &f);
  VAULT_RETURN_IF_ERROR(f.status);
  int version = std::stoi(PQgetvalue(r.get(), 0, 0));
  if (version > kPgSchemaVersion) {
    (void)conn.Command("ROLLBACK");
    return InvalidArgument("the database's schema is newer than this build's");
  }
  for (; version < kPgSchemaVersion; ++version) {
    VAULT_RETURN_IF_ERROR(conn.Command(kMigrations[version]).status);
  }
  const std::string set =
      "UPDATE lethe_schema SET version = " + std::to_string(kPgSchemaVersion) + " WHERE id = 1";
  VAULT_RETURN_IF_ERROR(conn.Command(set.c_str()).status);
  return conn.Command("COMMIT").status;
}

}  // namespace

bool IsPostgresUrl(std::string_view store) {
  return store.substr(0, 13) == "postgresql://" || store.substr(0, 11) == "postgres://";
}

std::string RedactConninfo(std::string_view conninfo) {
  std::string out(conninfo);
  // URI: scheme://user:password@host
  if (const auto scheme = out.find("://"); scheme != std::string::npos) {
    const auto at = out.find('@', scheme);
    const auto colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=... as a key (URI query or key/value string)
  for (auto p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    const auto start = p + 9;
    auto end = out.find_first_of("& ", start);
    if (end == std::string::npos) end = out.size();
    out.replace(start, end - start, "***");
  }
  return out;
}

StatusOr<std::unique_ptr<StoreBackend>> OpenPgBackend(const std::string& conninfo, bool create,
                                                      std::shared_ptr<std::atomic<bool>> abandon) {
  VAULT_ASSIGN_OR_RETURN(auto conn, Conn::Open(conninfo));
  if (create) VAULT_RETURN_IF_ERROR(Migrate(*conn));
  Status st;
  const int version = SchemaVersion(*conn, &st);
  if (version != kPgSchemaVersion) {
    return Status(Code::kNotFound, "the database has no Lethe schema of version " +
                                       std::to_string(kPgSchemaVersion) +
                                       " (run lethe init --store to create or migrate it)");
  }
  VAULT_RETURN_IF_ERROR(conn->Prepare());
  auto backend = std::make_unique<PgBackend>(conninfo, std::move(abandon));
  return std::unique_ptr<StoreBackend>(std::move(backend));
}

}  // namespace vault
