// The storage seam's backend-neutral half: table names, scans, and group commit on a writer
// thread (store.h). The backends are store_lmdb.cc and store_pg.cc.
#include "vault/store.h"

#include <algorithm>
#include <random>
#include <vector>

namespace vault {
namespace {

constexpr std::size_t kMaxBatch = 512;
// A transaction that lost a race with another server's is run again this often at most.
constexpr int kMaxConflictRetries = 30;
constexpr std::ptrdiff_t kRunAgain = -1;
constexpr std::ptrdiff_t kNoTxn = -2;

}  // namespace

const char* TableName(Table t) {
  static constexpr std::array<const char*, kTableCount> kNames = {
      "meta",        "subjects",    "records",     "scopes",
      "keys",        "expiry",      "holds",       "erasures",
      "erasure_due", "tokens",      "audit",       "blind",
      "slots_free",  "slots_freed", "rekeys",      "audit_checkpoints",
      "passwords",   "consents",    "consent_due", "restrictions",
      "key_slots",   "objections",  "requests",    "requests_by_subject",
      "keyring",
  };
  return kNames[static_cast<std::size_t>(t)];
}

Status Txn::Put(Table t, std::string_view key, const std::vector<std::uint8_t>& value) {
  return Put(t, key, AsView(value));
}

Status Txn::ScanPrefix(Table t, std::string_view prefix, const Visit& fn) const {
  return Scan(t, prefix, prefix, [&](std::string_view k, std::string_view v) -> StatusOr<Step> {
    Step step;
    step.stop = !fn(k, v);
    return step;
  });
}

Status Txn::ScanFrom(Table t, std::string_view from, const Visit& fn) const {
  return Scan(t, from, "", [&](std::string_view k, std::string_view v) -> StatusOr<Step> {
    Step step;
    step.stop = !fn(k, v);
    return step;
  });
}

Status Txn::UpdateFrom(Table t, std::string_view from, const Update& fn) {
  return Scan(t, from, "", fn);
}

StatusOr<std::unique_ptr<Store>> Store::Open(std::unique_ptr<StoreBackend> backend,
                                             StoreHooks hooks) {
  std::unique_ptr<Store> s(new Store());
  s->backend_ = std::move(backend);
  s->hooks_ = std::move(hooks);
  s->writer_ = std::thread([p = s.get()] { p->WriterLoop(); });
  s->writer_id_ = s->writer_.get_id();
  return s;
}

StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir, std::uint64_t map_size,
                                             bool create, StoreHooks hooks) {
  VAULT_ASSIGN_OR_RETURN(auto backend, OpenLmdbBackend(dir, map_size, create));
  return Open(std::move(backend), std::move(hooks));
}

Store::~Store() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
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
StatusOr<std::unique_ptr<WriteTxn>> Store::BeginWrite() {
  VAULT_ASSIGN_OR_RETURN(std::unique_ptr<WriteTxn> txn, backend_->BeginWrite());
  if (hooks_.begin) {
    Status h = hooks_.begin(*txn);
    if (!h.ok()) {
      if (txn->Conflicted()) return Status(Code::kConflict, "retry");  // see RunBatch
      txn->Abort();
      return h;
    }
  }
  return txn;
}

// Given the outcome of the transaction's operations: runs the pre-commit hook and commits,
// or aborts.
Status Store::FinishWrite(WriteTxn& txn, Status ops) {
  if (ops.ok() && hooks_.pre_commit) ops = hooks_.pre_commit(txn);
  if (!ops.ok()) {
    txn.Abort();
    return ops;
  }
  return txn.Commit();
}

// After a transaction lost a race with another server's: waits a random while, longer with
// each attempt, and says whether to try again.
bool Store::RetryAfterConflict(int* attempts) {
  if (++*attempts > kMaxConflictRetries) return false;
  thread_local std::minstd_rand rng(std::random_device{}());
  const int cap_ms = std::min(1 << std::min(*attempts, 6), 50);
  std::this_thread::sleep_for(std::chrono::milliseconds(rng() % static_cast<unsigned>(cap_ms)));
  return true;
}

bool Store::ForcedConflict() {
  if (forced_conflicts_.load() <= 0) return false;
  if (conflict_skip_.load() > 0) {
    conflict_skip_.fetch_sub(1);
    return false;
  }
  return forced_conflicts_.fetch_sub(1) > 0;
}

Status Store::Transact(const WriteFn& fn) {
  if (std::this_thread::get_id() != writer_id_) {
    return Internal("Store::Transact off the writer thread");
  }
  for (int attempts = 0;;) {
    StatusOr<std::unique_ptr<WriteTxn>> txn = BeginWrite();
    Status st = txn.ok() ? fn(**txn) : txn.status();
    if (txn.ok() && st.ok()) st = (*txn)->Error();
    const bool forced = txn.ok() && st.ok() && ForcedConflict();
    if (forced) (*txn)->Abort();
    if (txn.ok() && !forced && !(*txn)->Conflicted()) st = FinishWrite(**txn, st);
    const bool conflicted =
        forced || (txn.ok() ? (*txn)->Conflicted() : st.code() == Code::kConflict);
    if (!conflicted) return st;
    if (!RetryAfterConflict(&attempts)) {
      return Status(Code::kUnavailable, "the store is busy (transactions keep conflicting)");
    }
  }
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
      Status s = backend_->LockExclusive();
      if (s.ok()) {
        try {
          s = batch.front()->exclusive();
        } catch (const std::exception& e) {
          s = Internal(std::string("exclusive operation failed: ") + e.what());
        }
        backend_->UnlockExclusive();
      }
      batch.front()->Finish(s);
      continue;
    }
    RunBatch(batch);
  }
}

// Runs the ops todo[0..limit) in one transaction and commits them. Returns the index of the
// first op that failed (its error in *failed; the transaction aborted), limit when they all
// ran (*failed is the commit's outcome), kRunAgain when the transaction lost a race, or
// kNoTxn when none could begin (*failed says why).
std::ptrdiff_t Store::RunOps(Batch& batch, const std::vector<std::size_t>& todo, std::size_t limit,
                             Status* failed) {
  StatusOr<std::unique_ptr<WriteTxn>> begun = BeginWrite();
  if (!begun.ok()) {
    *failed = begun.status();
    return begun.status().code() == Code::kConflict ? kRunAgain : kNoTxn;
  }
  WriteTxn& txn = **begun;
  std::size_t k = 0;
  for (; k < limit; ++k) {
    try {
      *failed = batch[todo[k]]->fn(txn);
    } catch (const std::exception& e) {
      *failed = Internal(std::string("write failed: ") + e.what());
    }
    if (txn.Conflicted()) return kRunAgain;
    if (failed->ok()) *failed = txn.Error();
    if (!failed->ok()) break;
  }
  if (k < limit) {
    txn.Abort();
    return static_cast<std::ptrdiff_t>(k);
  }
  *failed = FinishWrite(txn, Status::Ok());
  return txn.Conflicted() ? kRunAgain : static_cast<std::ptrdiff_t>(limit);
}

void Store::RunBatch(Batch& batch) {
  // Every operation of the batch runs directly in one transaction (LMDB's nested
  // transactions allocate megabytes each). When one fails, the transaction is aborted, that
  // operation alone reports its error, and the operations before it, which had succeeded,
  // run again and commit; the rest follow in the next transaction. So a failure costs one
  // re-run of the prefix and one extra commit, never another caller's write. A transaction
  // that lost a race with another server's (PostgreSQL) runs again as it was.
  std::vector<std::size_t> todo(batch.size());
  for (std::size_t i = 0; i < todo.size(); ++i) todo[i] = i;
  std::size_t limit = todo.size();
  int attempts = 0;
  while (!todo.empty()) {
    if (limit == 0) limit = todo.size();
    Status st;
    const std::ptrdiff_t k = RunOps(batch, todo, limit, &st);
    if (k == kRunAgain && RetryAfterConflict(&attempts)) continue;
    if (k < 0) {
      if (k == kRunAgain) st = Status(Code::kUnavailable, "the store is busy (conflicts)");
      for (std::size_t i : todo) batch[i]->Finish(st);
      return;
    }
    if (static_cast<std::size_t>(k) == limit) {
      for (std::size_t j = 0; j < limit; ++j) batch[todo[j]]->Finish(st);
      todo.erase(todo.begin(), todo.begin() + static_cast<std::ptrdiff_t>(limit));
      limit = todo.size();
      continue;
    }
    batch[todo[k]]->Finish(st);
    todo.erase(todo.begin() + k);
    limit = static_cast<std::size_t>(k);  // commit the prefix that succeeded, then the rest
  }
}

}  // namespace vault
