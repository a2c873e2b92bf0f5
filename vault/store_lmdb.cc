// The LMDB backend of the storage seam: tables as named databases in one environment, read
// transactions reset and renewed from a pool.
#include <lmdb.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "vault/file_room.h"
#include "vault/store.h"

namespace vault {
namespace {

using Dbis = std::array<MDB_dbi, kTableCount>;

// A full map or a full disk (or an I/O error) is kUnavailable (503: retry later, nothing was
// written; the transaction is aborted); anything else is internal.
Status LmdbError(const char* what, int rc) {
  if (rc == MDB_MAP_FULL) {
    return Status(Code::kUnavailable, std::string(what) + ": store is full (raise the map size)");
  }
  if (rc == ENOSPC || rc == EDQUOT) {
    return Status(Code::kUnavailable, std::string(what) + ": the disk is full or over quota");
  }
  if (rc == EIO) {  // LMDB's answer to a short write, which a filling disk causes
    return Status(Code::kUnavailable, std::string(what) + ": cannot write the store (disk full?)");
  }
  return Internal(std::string(what) + ": " + mdb_strerror(rc));
}

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

// A read or write transaction; the owner commits, aborts or resets the MDB_txn.
class LmdbTxn final : public WriteTxn {
 public:
  LmdbTxn(MDB_txn* txn, const Dbis& dbis) : txn_(txn), dbis_(dbis) {}
  ~LmdbTxn() override {
    if (txn_ != nullptr && owned_) mdb_txn_abort(txn_);
  }
  void Own() { owned_ = true; }

  std::optional<std::string_view> Get(Table t, std::string_view key) const override;
  using Txn::Put;
  Status Put(Table t, std::string_view key, std::string_view value) override;
  Status Append(Table t, std::string_view key, std::string_view value) override;
  Status Del(Table t, std::string_view key) override;
  std::uint64_t Count(Table t) const override;
  Status Commit() override {
    const int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    return rc == 0 ? Status::Ok() : LmdbError("commit", rc);
  }
  void Abort() override {
    mdb_txn_abort(txn_);
    txn_ = nullptr;
  }

 private:
  Status Scan(Table t, std::string_view from, std::string_view prefix,
              const Update& fn) const override;
  MDB_dbi Dbi(Table t) const { return dbis_[static_cast<std::size_t>(t)]; }
  MDB_txn* txn_;
  const Dbis& dbis_;
  bool owned_ = false;  // aborted on destruction unless committed or aborted
};

std::optional<std::string_view> LmdbTxn::Get(Table t, std::string_view key) const {
  MDB_val k = Val(key), v;
  if (mdb_get(txn_, Dbi(t), &k, &v) != 0) return std::nullopt;
  return View(v);
}

Status LmdbTxn::Put(Table t, std::string_view key, std::string_view value) {
  MDB_val k = Val(key), v = Val(value);
  const int rc = mdb_put(txn_, Dbi(t), &k, &v, 0);
  return rc == 0 ? Status::Ok() : LmdbError("write", rc);
}

Status LmdbTxn::Append(Table t, std::string_view key, std::string_view value) {
  MDB_val k = Val(key), v = Val(value);
  const int rc = mdb_put(txn_, Dbi(t), &k, &v, MDB_APPEND);
  if (rc == MDB_KEYEXIST) {
    // The key is not past the last one: for a sequence this means the recorded tail is
    // wrong, and overwriting would erase history.
    return DataLoss("an append would not go past the last key (sequence out of order)");
  }
  return rc == 0 ? Status::Ok() : LmdbError("write", rc);
}

Status LmdbTxn::Del(Table t, std::string_view key) {
  MDB_val k = Val(key);
  const int rc = mdb_del(txn_, Dbi(t), &k, nullptr);
  return rc == 0 || rc == MDB_NOTFOUND ? Status::Ok() : LmdbError("delete", rc);
}

Status LmdbTxn::Scan(Table t, std::string_view from, std::string_view prefix,
                     const Update& fn) const {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn_, Dbi(t), &c);
  if (rc != 0) return LmdbError("cursor", rc);
  MDB_val k = Val(from), v;
  rc = mdb_cursor_get(c, &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
  Status st;
  while (rc == 0 && View(k).substr(0, prefix.size()) == prefix) {
    StatusOr<Step> step = fn(View(k), View(v));
    if (!step.ok()) {
      st = step.status();
      break;
    }
    if (step->value) {
      MDB_val nv = Val(*step->value);
      rc = mdb_cursor_put(c, &k, &nv, MDB_CURRENT);
      if (rc != 0) break;
    }
    if (step->stop) break;
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  if (!st.ok()) return st;
  return rc == 0 || rc == MDB_NOTFOUND ? Status::Ok() : LmdbError("scan", rc);
}

std::uint64_t LmdbTxn::Count(Table t) const {
  MDB_stat st{};
  if (mdb_stat(txn_, Dbi(t), &st) != 0) return 0;
  return st.ms_entries;
}

class LmdbBackend final : public StoreBackend {
 public:
  ~LmdbBackend() override;
  Status Open(const std::string& dir, std::uint64_t map_size);
  StatusOr<std::unique_ptr<WriteTxn>> BeginWrite() override;
  Status Read(const std::function<Status(Txn&)>& fn) const override EXCLUDES(read_mu_);
  Status CopyCompactTo(int fd) const override;
  std::uint64_t UsedBytes() const override;
  const char* Name() const override { return "lmdb"; }

 private:
  static constexpr std::size_t kMaxIdleReads = 64;
  MDB_txn* TakeReadTxn(int* rc) const EXCLUDES(read_mu_);
  void KeepRoom();
  MDB_env* env_ = nullptr;
  Dbis dbis_{};
  std::unique_ptr<FileRoom> room_;  // zeros ahead of the data file's last page
  // Read transactions are reset and renewed from a pool, so a read does not take LMDB's
  // reader table lock (shared by every thread) to find a reader slot.
  mutable Mutex read_mu_;
  mutable std::vector<MDB_txn*> idle_reads_ GUARDED_BY(read_mu_);
};

LmdbBackend::~LmdbBackend() {
  MutexLock lock(read_mu_);
  for (MDB_txn* txn : idle_reads_) mdb_txn_abort(txn);
  idle_reads_.clear();
  if (env_ != nullptr) mdb_env_close(env_);
}

Status LmdbBackend::Open(const std::string& dir, std::uint64_t map_size) {
  int rc = mdb_env_create(&env_);
  if (rc != 0) return LmdbError("mdb_env_create", rc);
  // Room for tables added later (a store opened by an older build lacks them: MDB_CREATE).
  mdb_env_set_maxdbs(env_, 64);
  mdb_env_set_maxreaders(env_, 512);
  mdb_env_set_mapsize(env_, map_size);
  // MDB_NOTLS: read transactions are used from HTTP worker threads. Full durability: no
  // MDB_NOSYNC / MDB_NOMETASYNC; group commit amortises the fsyncs instead.
  rc = mdb_env_open(env_, dir.c_str(), MDB_NOTLS, 0600);
  if (rc != 0) {
    mdb_env_close(env_);
    env_ = nullptr;
    return LmdbError(("cannot open store " + dir).c_str(), rc);
  }
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return LmdbError("begin", rc);
  for (std::size_t i = 0; i < kTableCount; ++i) {
    rc = mdb_dbi_open(txn, TableName(static_cast<Table>(i)), MDB_CREATE, &dbis_[i]);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError("open database", rc);
    }
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return LmdbError("commit", rc);
  // Zeroed room ahead of the last page: 1 MiB to 32 MiB, at most an eighth of the map left.
  room_ = std::make_unique<FileRoom>(std::uint64_t{1} << 20, std::uint64_t{32} << 20, map_size);
  return Status::Ok();
}

StatusOr<std::unique_ptr<WriteTxn>> LmdbBackend::BeginWrite() {
  MDB_txn* txn = nullptr;
  const int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return LmdbError("begin", rc);
  KeepRoom();
  auto t = std::make_unique<LmdbTxn>(txn, dbis_);
  t->Own();
  return std::unique_ptr<WriteTxn>(std::move(t));
}

// Inside a write transaction (LMDB's write lock held, so no process writes past the file's
// end meanwhile, and this transaction has written nothing yet): keeps zeros ahead of the last
// committed page, so commits overwrite allocated blocks (file_room.h).
void LmdbBackend::KeepRoom() {
  MDB_envinfo info{};
  MDB_stat st{};
  mdb_filehandle_t fd = -1;
  if (mdb_env_info(env_, &info) != 0 || mdb_env_stat(env_, &st) != 0 ||
      mdb_env_get_fd(env_, &fd) != 0) {
    return;
  }
  room_->Ensure(fd, (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * st.ms_psize);
}

// A renewed transaction from the pool, or a new one.
MDB_txn* LmdbBackend::TakeReadTxn(int* rc) const {
  MDB_txn* txn = nullptr;
  {
    MutexLock lock(read_mu_);
    if (!idle_reads_.empty()) {
      txn = idle_reads_.back();
      idle_reads_.pop_back();
    }
  }
  if (txn != nullptr && mdb_txn_renew(txn) != 0) {
    mdb_txn_abort(txn);
    txn = nullptr;
  }
  *rc = 0;
  if (txn == nullptr) *rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  return txn;
}

Status LmdbBackend::Read(const std::function<Status(Txn&)>& fn) const {
  int rc = 0;
  MDB_txn* txn = TakeReadTxn(&rc);
  if (rc != 0) return LmdbError("begin read", rc);
  Status s;
  try {
    LmdbTxn t(txn, dbis_);
    s = fn(t);
  } catch (...) {
    mdb_txn_abort(txn);
    throw;
  }
  mdb_txn_reset(txn);  // releases the snapshot, keeps the reader slot
  {
    MutexLock lock(read_mu_);
    if (idle_reads_.size() < kMaxIdleReads) {
      idle_reads_.push_back(txn);
      txn = nullptr;
    }
  }
  if (txn != nullptr) mdb_txn_abort(txn);
  return s;
}

Status LmdbBackend::CopyCompactTo(int fd) const {
  const int rc = mdb_env_copyfd2(env_, fd, MDB_CP_COMPACT);
  return rc == 0 ? Status::Ok() : LmdbError("backup copy", rc);
}

std::uint64_t LmdbBackend::UsedBytes() const {
  MDB_envinfo info{};
  MDB_stat stat{};
  if (mdb_env_info(env_, &info) != 0 || mdb_env_stat(env_, &stat) != 0) return 0;
  return (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
}

}  // namespace

StatusOr<std::unique_ptr<StoreBackend>> OpenLmdbBackend(const std::string& dir,
                                                        std::uint64_t map_size, bool create) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (!create) return NotFound("no store at " + dir + " (run lethe init first)");
    if (::mkdir(dir.c_str(), 0700) != 0) {
      return Internal("cannot create " + dir + ": " + std::strerror(errno));
    }
  }
  auto backend = std::make_unique<LmdbBackend>();
  VAULT_RETURN_IF_ERROR(backend->Open(dir, map_size));
  return std::unique_ptr<StoreBackend>(std::move(backend));
}

}  // namespace vault
