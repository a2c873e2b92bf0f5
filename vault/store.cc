// LMDB environment, group commit and free-page scrubbing.
#include "vault/store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace vault {
namespace {

constexpr std::size_t kMaxBatch = 512;

Status LmdbError(const char* what, int rc) {
  if (rc == MDB_MAP_FULL) {
    return Status(Code::kUnavailable, std::string(what) + ": store is full (raise the map size)");
  }
  return Internal(std::string(what) + ": " + mdb_strerror(rc));
}

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

}  // namespace

std::optional<std::string_view> Get(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
  MDB_val k = Val(key), v;
  if (mdb_get(txn, dbi, &k, &v) != 0) return std::nullopt;
  return View(v);
}

Status Put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value) {
  MDB_val k = Val(key), v = Val(value);
  const int rc = mdb_put(txn, dbi, &k, &v, 0);
  return rc == 0 ? Status::Ok() : LmdbError("write", rc);
}

Status Put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, const std::vector<std::uint8_t>& v) {
  return Put(txn, dbi, key, AsView(v));
}

Status PutAppend(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value) {
  MDB_val k = Val(key), v = Val(value);
  const int rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
  if (rc == MDB_KEYEXIST) {
    // The key is not past the last one: for a sequence this means the recorded tail is
    // wrong, and overwriting would erase history.
    return DataLoss("an append would not go past the last key (sequence out of order)");
  }
  return rc == 0 ? Status::Ok() : LmdbError("write", rc);
}

Status Del(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
  MDB_val k = Val(key);
  const int rc = mdb_del(txn, dbi, &k, nullptr);
  return rc == 0 || rc == MDB_NOTFOUND ? Status::Ok() : LmdbError("delete", rc);
}

Status ScanPrefix(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix,
                  const std::function<bool(std::string_view, std::string_view)>& fn) {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn, dbi, &c);
  if (rc != 0) return LmdbError("cursor", rc);
  MDB_val k = Val(prefix), v;
  rc = prefix.empty() ? mdb_cursor_get(c, &k, &v, MDB_FIRST)
                      : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  while (rc == 0) {
    const std::string_view key = View(k);
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!fn(key, View(v))) break;
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  return rc == 0 || rc == MDB_NOTFOUND ? Status::Ok() : LmdbError("scan", rc);
}

std::uint64_t CountEntries(MDB_txn* txn, MDB_dbi dbi) {
  MDB_stat st{};
  if (mdb_stat(txn, dbi, &st) != 0) return 0;
  return st.ms_entries;
}

StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir, std::uint64_t map_size,
                                             bool create) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (!create) return NotFound("no store at " + dir + " (run vault init first)");
    if (::mkdir(dir.c_str(), 0700) != 0) {
      return Internal("cannot create " + dir + ": " + std::strerror(errno));
    }
  }
  std::unique_ptr<Store> s(new Store());
  s->dir_ = dir;
  int rc = mdb_env_create(&s->env_);
  if (rc != 0) return LmdbError("mdb_env_create", rc);
  mdb_env_set_maxdbs(s->env_, 16);
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
  const std::pair<const char*, MDB_dbi*> names[] = {{"meta", &s->dbs_.meta},
                                                    {"subjects", &s->dbs_.subjects},
                                                    {"records", &s->dbs_.records},
                                                    {"scopes", &s->dbs_.scopes},
                                                    {"keys", &s->dbs_.keys},
                                                    {"expiry", &s->dbs_.expiry},
                                                    {"holds", &s->dbs_.holds},
                                                    {"erasures", &s->dbs_.erasures},
                                                    {"erasure_due", &s->dbs_.erasure_due},
                                                    {"tokens", &s->dbs_.tokens},
                                                    {"audit", &s->dbs_.audit},
                                                    {"blind", &s->dbs_.blind},
                                                    {"slots_free", &s->dbs_.slots_free},
                                                    {"slots_freed", &s->dbs_.slots_freed}};
  for (const auto& [name, dbi] : names) {
    rc = mdb_dbi_open(txn, name, MDB_CREATE, dbi);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError("open database", rc);
    }
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return LmdbError("commit", rc);
  s->writer_ = std::thread([p = s.get()] { p->WriterLoop(); });
  s->writer_id_ = s->writer_.get_id();
  return s;
}

Store::~Store() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  for (MDB_txn* txn : idle_reads_) mdb_txn_abort(txn);
  idle_reads_.clear();
  if (env_ != nullptr) mdb_env_close(env_);
}

void Store::SetBatchHook(BatchHook hook) {
  std::lock_guard lock(mu_);
  hook_ = std::move(hook);
}

void Store::SetPreCommitHook(std::function<Status(MDB_txn*)> hook) {
  std::lock_guard lock(mu_);
  pre_commit_ = std::move(hook);
}

void Store::Enqueue(std::unique_ptr<Op> op) {
  bool wake = true;
  {
    std::lock_guard lock(mu_);
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
  return Write([](MDB_txn*) { return Status::Ok(); });
}

Status Store::Exclusive(std::function<Status()> fn) {
  if (std::this_thread::get_id() == writer_id_) return fn();
  auto op = std::make_unique<Op>();
  op->exclusive = std::move(fn);
  return EnqueueAndWait(std::move(op));
}

Status Store::Txn(const WriteFn& fn) {
  if (std::this_thread::get_id() != writer_id_) return Internal("Store::Txn off the writer thread");
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return LmdbError("begin", rc);
  if (hook_) {
    Status h = hook_(txn);
    if (!h.ok()) {
      mdb_txn_abort(txn);
      return h;
    }
  }
  Status s = fn(txn);
  if (s.ok() && pre_commit_) s = pre_commit_(txn);
  if (!s.ok()) {
    mdb_txn_abort(txn);
    return s;
  }
  rc = mdb_txn_commit(txn);
  return rc == 0 ? Status::Ok() : LmdbError("commit", rc);
}

Status Store::Read(const std::function<Status(MDB_txn*)>& fn) const {
  MDB_txn* txn = nullptr;
  {
    std::lock_guard lock(read_mu_);
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
    s = fn(txn);
  } catch (...) {
    mdb_txn_abort(txn);
    throw;
  }
  mdb_txn_reset(txn);  // releases the snapshot, keeps the reader slot
  {
    std::lock_guard lock(read_mu_);
    if (idle_reads_.size() < kMaxIdleReads) {
      idle_reads_.push_back(txn);
      txn = nullptr;
    }
  }
  if (txn != nullptr) mdb_txn_abort(txn);
  return s;
}

void Store::WriterLoop() {
  for (;;) {
    std::deque<std::unique_ptr<Op>> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) return;
      if (waited_ops_ == 0 && !stop_) {
        // Only read audit entries: let more of them join this commit.
        cv_.wait_for(lock, kAsyncLinger,
                     [&] { return stop_ || waited_ops_ > 0 || queue_.size() >= kMaxBatch; });
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
    }
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

void Store::RunBatch(std::deque<std::unique_ptr<Op>>& batch) {
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
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    Status st = rc == 0 ? Status::Ok() : LmdbError("begin", rc);
    if (st.ok() && hook_) st = hook_(txn);
    if (!st.ok()) {
      if (txn != nullptr) mdb_txn_abort(txn);
      for (std::size_t i : todo) batch[i]->Finish(st);
      return;
    }
    std::size_t k = 0;
    Status failed;
    for (; k < limit; ++k) {
      try {
        failed = batch[todo[k]]->fn(txn);
      } catch (const std::exception& e) {
        failed = Internal(std::string("write failed: ") + e.what());
      }
      if (!failed.ok()) break;
    }
    if (k == limit) {
      if (pre_commit_) st = pre_commit_(txn);
      if (st.ok()) {
        rc = mdb_txn_commit(txn);
        if (rc != 0) st = LmdbError("commit", rc);
      } else {
        mdb_txn_abort(txn);
      }
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

Status Store::CopyCompact(const std::string& dir) const {
  const int rc = mdb_env_copy2(env_, dir.c_str(), MDB_CP_COMPACT);
  return rc == 0 ? Status::Ok() : LmdbError(("backup copy to " + dir).c_str(), rc);
}

}  // namespace vault
