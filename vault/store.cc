// The storage seam over LMDB: tables as named databases, group commit on a writer thread.
#include "vault/store.h"

#include <lmdb.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "vault/file_room.h"

namespace vault {
namespace {

constexpr std::size_t kMaxBatch = 512;

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

}  // namespace

const char* TableName(Table t) {
  static constexpr std::array<const char*, kTableCount> kNames = {
      "meta",
      "subjects",
      "records",
      "scopes",
      "keys",
      "expiry",
      "holds",
      "erasures",
      "erasure_due",
      "tokens",
      "audit",
      "blind",
      "slots_free",
      "slots_freed",
      "rekeys",
      "audit_checkpoints",
      "passwords",
      "consents",
      "consent_due",
      "restrictions",
  };
  return kNames[static_cast<std::size_t>(t)];
}

std::optional<std::string_view> Txn::Get(Table t, std::string_view key) const {
  MDB_val k = Val(key), v;
  if (mdb_get(txn_, Dbi(t), &k, &v) != 0) return std::nullopt;
  return View(v);
}

Status Txn::Put(Table t, std::string_view key, std::string_view value) {
  MDB_val k = Val(key), v = Val(value);
  const int rc = mdb_put(txn_, Dbi(t), &k, &v, 0);
  return rc == 0 ? Status::Ok() : LmdbError("write", rc);
}

Status Txn::Put(Table t, std::string_view key, const std::vector<std::uint8_t>& value) {
  return Put(t, key, AsView(value));
}

Status Txn::Append(Table t, std::string_view key, std::string_view value) {
  MDB_val k = Val(key), v = Val(value);
  const int rc = mdb_put(txn_, Dbi(t), &k, &v, MDB_APPEND);
  if (rc == MDB_KEYEXIST) {
    // The key is not past the last one: for a sequence this means the recorded tail is
    // wrong, and overwriting would erase history.
    return DataLoss("an append would not go past the last key (sequence out of order)");
  }
  return rc == 0 ? Status::Ok() : LmdbError("write", rc);
}

Status Txn::Del(Table t, std::string_view key) {
  MDB_val k = Val(key);
  const int rc = mdb_del(txn_, Dbi(t), &k, nullptr);
  return rc == 0 || rc == MDB_NOTFOUND ? Status::Ok() : LmdbError("delete", rc);
}

Status Txn::ScanPrefix(Table t, std::string_view prefix, const Visit& fn) const {
  return ScanFrom(t, prefix, [&](std::string_view k, std::string_view v) {
    return k.substr(0, prefix.size()) == prefix && fn(k, v);
  });
}

Status Txn::ScanFrom(Table t, std::string_view from, const Visit& fn) const {
  return Scan(t, from, [&](std::string_view k, std::string_view v) -> StatusOr<Step> {
    Step step;
    step.stop = !fn(k, v);
    return step;
  });
}

Status Txn::UpdateFrom(Table t, std::string_view from, const Update& fn) {
  return Scan(t, from, fn);
}

Status Txn::Scan(Table t, std::string_view from, const Update& fn) const {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn_, Dbi(t), &c);
  if (rc != 0) return LmdbError("cursor", rc);
  MDB_val k = Val(from), v;
  rc = mdb_cursor_get(c, &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
  Status st;
  while (rc == 0) {
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

std::uint64_t Txn::Count(Table t) const {
  MDB_stat st{};
  if (mdb_stat(txn_, Dbi(t), &st) != 0) return 0;
  return st.ms_entries;
}

StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir, std::uint64_t map_size,
                                             bool create, StoreHooks hooks) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (!create) return NotFound("no store at " + dir + " (run lethe init first)");
    if (::mkdir(dir.c_str(), 0700) != 0) {
      return Internal("cannot create " + dir + ": " + std::strerror(errno));
    }
  }
  std::unique_ptr<Store> s(new Store());
  s->hooks_ = std::move(hooks);
  int rc = mdb_env_create(&s->env_);
  if (rc != 0) return LmdbError("mdb_env_create", rc);
  // Room for tables added later (a store opened by an older build lacks them: MDB_CREATE).
  mdb_env_set_maxdbs(s->env_, 64);
  mdb_env_set_maxreaders(s->env_, 512);
  mdb_env_set_mapsize(s->env_, map_size);
  // MDB_NOTLS: read transactions are used from HTTP worker threads. Full durability: no
  // MDB_NOSYNC / MDB_NOMETASYNC; group commit amortises the fsyncs instead.
  rc = mdb_env_open(s->env_, dir.c_str(), MDB_NOTLS, 0600);
  if (rc != 0) {
    mdb_env_close(s->env_);
    s->env_ = nullptr;
    return LmdbError(("cannot open store " + dir).c_str(), rc);
  }
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(s->env_, nullptr, 0, &txn);
  if (rc != 0) return LmdbError("begin", rc);
  for (std::size_t i = 0; i < kTableCount; ++i) {
    rc = mdb_dbi_open(txn, TableName(static_cast<Table>(i)), MDB_CREATE, &s->dbis_[i]);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError("open database", rc);
    }
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return LmdbError("commit", rc);
  // Zeroed room ahead of the last page: 1 MiB to 32 MiB, at most an eighth of the map left.
  s->room_ = std::make_unique<FileRoom>(std::uint64_t{1} << 20, std::uint64_t{32} << 20, map_size);
  s->writer_ = std::thread([p = s.get()] { p->WriterLoop(); });
  s->writer_id_ = s->writer_.get_id();
  return s;
}

Store::~Store() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  MutexLock lock(read_mu_);
  for (MDB_txn* txn : idle_reads_) mdb_txn_abort(txn);
  idle_reads_.clear();
  if (env_ != nullptr) mdb_env_close(env_);
}

void Store::Enqueue(std::unique_ptr<Op> op) {
  bool wake = true;
  {
    MutexLock lock(mu_);
    if (stop_) {
      op->Finish(Status(Code::kUnavailable, "store is closing"));
      return;
    }
    if (op->async()) {
      // The writer only needs waking when it sleeps on an empty queue or a batch is full;
      // waking it for every read audit entry would cost a context switch per read.
      wake = queue_.empty() || queue_.size() + 1 >= kMaxBatch;
    } else {
      ++waited_ops_;
    }
    queue_.push_back(std::move(op));
  }
  if (wake) cv_.notify_one();
}

Status Store::EnqueueAndWait(std::unique_ptr<Op> op) {
  op->done.emplace();
  std::future<Status> fut = op->done->get_future();
  Enqueue(std::move(op));
  return fut.get();
}

Status Store::Write(WriteFn fn) {
  auto op = std::make_unique<Op>();
  op->fn = std::move(fn);
  return EnqueueAndWait(std::move(op));
}

void Store::WriteAsync(WriteFn fn) {
  auto op = std::make_unique<Op>();
  op->fn = std::move(fn);
  Enqueue(std::move(op));
}

Status Store::Flush() {
  // An empty operation in the next batch: FIFO order puts everything queued before it in
  // the same or an earlier commit. LMDB does not write or sync a transaction with no changes.
  return Write([](Txn&) { return Status::Ok(); });
}

Status Store::Exclusive(std::function<Status()> fn) {
  if (std::this_thread::get_id() == writer_id_) return fn();
  auto op = std::make_unique<Op>();
  op->exclusive = std::move(fn);
  return EnqueueAndWait(std::move(op));
}

// Begins a write transaction and runs the begin hook in it.
Status Store::BeginWrite(MDB_txn** txn) {
  *txn = nullptr;
  const int rc = mdb_txn_begin(env_, nullptr, 0, txn);
  if (rc != 0) return LmdbError("begin", rc);
  KeepRoom();
  if (hooks_.begin) {
    Txn t(*txn, dbis_);
    Status h = hooks_.begin(t);
    if (!h.ok()) {
      mdb_txn_abort(*txn);
      *txn = nullptr;
      return h;
    }
  }
  return Status::Ok();
}

// Inside a write transaction (LMDB's write lock held, so no process writes past the file's
// end meanwhile, and this transaction has written nothing yet): keeps zeros ahead of the last
// committed page, so commits overwrite allocated blocks (file_room.h).
void Store::KeepRoom() {
  MDB_envinfo info{};
  MDB_stat st{};
  mdb_filehandle_t fd = -1;
  if (mdb_env_info(env_, &info) != 0 || mdb_env_stat(env_, &st) != 0 ||
      mdb_env_get_fd(env_, &fd) != 0) {
    return;
  }
  room_->Ensure(fd, (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * st.ms_psize);
}

// Given the outcome of the transaction's operations: runs the pre-commit hook and commits,
// or aborts.
Status Store::FinishWrite(MDB_txn* txn, Status ops) {
  if (ops.ok() && hooks_.pre_commit) {
    Txn t(txn, dbis_);
    ops = hooks_.pre_commit(t);
  }
  if (!ops.ok()) {
    mdb_txn_abort(txn);
    return ops;
  }
  const int rc = mdb_txn_commit(txn);
  return rc == 0 ? Status::Ok() : LmdbError("commit", rc);
}

Status Store::Transact(const WriteFn& fn) {
  if (std::this_thread::get_id() != writer_id_) {
    return Internal("Store::Transact off the writer thread");
  }
  MDB_txn* txn = nullptr;
  VAULT_RETURN_IF_ERROR(BeginWrite(&txn));
  Txn t(txn, dbis_);
  return FinishWrite(txn, fn(t));
}

Status Store::Read(const std::function<Status(Txn&)>& fn) const {
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
  if (txn == nullptr) {
    const int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc != 0) return LmdbError("begin read", rc);
  }
  Status s;
  try {
    Txn t(txn, dbis_);
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

// Waits for work and takes the next batch: one exclusive operation, or up to kMaxBatch
// write operations. Empty when the store is stopping with nothing queued.
Store::Batch Store::NextBatch() {
  Batch batch;
  MutexLock lock(mu_);
  while (!stop_ && queue_.empty()) lock.Wait(cv_);
  if (queue_.empty()) return batch;
  if (waited_ops_ == 0 && !stop_) {
    // Only read audit entries: let more of them join this commit.
    const auto deadline = std::chrono::steady_clock::now() + kAsyncLinger;
    while (!stop_ && waited_ops_ == 0 && queue_.size() < kMaxBatch &&
           lock.WaitUntil(cv_, deadline)) {
    }
  }
  if (queue_.front()->exclusive) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  } else {
    while (!queue_.empty() && !queue_.front()->exclusive && batch.size() < kMaxBatch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  for (const auto& op : batch) {
    if (!op->async()) --waited_ops_;
  }
  return batch;
}

void Store::WriterLoop() {
  for (;;) {
    Batch batch = NextBatch();
    if (batch.empty()) return;
    if (batch.front()->exclusive) {
      Status s;
      try {
        s = batch.front()->exclusive();
      } catch (const std::exception& e) {
        s = Internal(std::string("exclusive operation failed: ") + e.what());
      }
      batch.front()->Finish(s);
      continue;
    }
    RunBatch(batch);
  }
}

void Store::RunBatch(Batch& batch) {
  // Every operation of the batch runs directly in one transaction (LMDB's nested
  // transactions allocate megabytes each). When one fails, the transaction is aborted, that
  // operation alone reports its error, and the operations before it, which had succeeded,
  // run again and commit; the rest follow in the next transaction. So a failure costs one
  // re-run of the prefix and one extra commit, never another caller's write.
  std::vector<std::size_t> todo(batch.size());
  for (std::size_t i = 0; i < todo.size(); ++i) todo[i] = i;
  std::size_t limit = todo.size();
  while (!todo.empty()) {
    if (limit == 0) limit = todo.size();
    MDB_txn* txn = nullptr;
    if (Status st = BeginWrite(&txn); !st.ok()) {
      for (std::size_t i : todo) batch[i]->Finish(st);
      return;
    }
    Txn t(txn, dbis_);
    std::size_t k = 0;
    Status failed;
    for (; k < limit; ++k) {
      try {
        failed = batch[todo[k]]->fn(t);
      } catch (const std::exception& e) {
        failed = Internal(std::string("write failed: ") + e.what());
      }
      if (!failed.ok()) break;
    }
    if (k == limit) {
      const Status st = FinishWrite(txn, Status::Ok());
      for (std::size_t j = 0; j < limit; ++j) batch[todo[j]]->Finish(st);
      todo.erase(todo.begin(), todo.begin() + static_cast<std::ptrdiff_t>(limit));
      limit = todo.size();
      continue;
    }
    mdb_txn_abort(txn);
    batch[todo[k]]->Finish(failed);
    todo.erase(todo.begin() + static_cast<std::ptrdiff_t>(k));
    limit = k;  // commit the prefix that succeeded, then go on with the rest
  }
}

Status Store::CopyCompactTo(int fd) const {
  const int rc = mdb_env_copyfd2(env_, fd, MDB_CP_COMPACT);
  return rc == 0 ? Status::Ok() : LmdbError("backup copy", rc);
}

std::uint64_t Store::UsedBytes() const {
  MDB_envinfo info{};
  MDB_stat stat{};
  if (mdb_env_info(env_, &info) != 0 || mdb_env_stat(env_, &stat) != 0) return 0;
  return (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
}

}  // namespace vault
