// Store: the LMDB environment, its named databases, and a group-commit writer thread.
#pragma once

#include <lmdb.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "vault/status.h"

namespace vault {

struct Dbs {
  MDB_dbi meta, subjects, records, scopes, keys, expiry, holds, erasures, erasure_due, tokens,
      audit, blind, slots_free, slots_freed;
};

// Thread-safe. Writes run on one writer thread: concurrent Write() calls are batched into
// one LMDB transaction and one commit, then all callers are released. An operation that
// fails is taken out of the batch and the others run again without it, so one failing op
// never undoes another's write. Operations may therefore run more than once: they must
// depend only on the transaction they are given and overwrite what they report.
class Store {
 public:
  using WriteFn = std::function<Status(MDB_txn*)>;
  // Runs before each batch inside the parent txn (e.g. to notice a keyring change).
  using BatchHook = std::function<Status(MDB_txn*)>;

  static StatusOr<std::unique_ptr<Store>> Open(const std::string& dir, std::uint64_t map_size,
                                               bool create);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const Dbs& dbs() const { return dbs_; }
  void SetBatchHook(BatchHook hook);
  // Runs after a batch's operations and before its commit (e.g. to sync the key slots
  // those operations wrote, so a committed row never points at an unsynced slot).
  void SetPreCommitHook(std::function<Status(MDB_txn*)> hook);

  // Runs fn in the next batch and returns once its effects are durable (or fn's error).
  Status Write(WriteFn fn);
  // Same, but does not wait (audit entries of reads); its outcome is not reported. When only
  // such operations are queued, the writer lets them gather for up to kAsyncLinger before
  // committing them together, so a stream of reads costs a commit every 20 ms (or 512
  // entries) instead of one per batch of a few reads. Any Write(), Exclusive() or Flush() ends the
  // wait.
  void WriteAsync(WriteFn fn);
  // Returns once every operation queued before it, WriteAsync ones included, is durable.
  Status Flush();
  static constexpr std::chrono::milliseconds kAsyncLinger{20};
  // Runs fn alone on the writer thread, between batches; fn may call Txn() for its own
  // sequence of transactions (long operations done in steps: rotation, scrubbing).
  Status Exclusive(std::function<Status()> fn);
  // REQUIRES: called from inside an Exclusive() function. One durable transaction.
  Status Txn(const WriteFn& fn);

  // A read-only snapshot; short-lived, on any thread. Values must be copied out. Read
  // transactions are reset and renewed from a pool, so a read does not take LMDB's reader
  // table lock (shared by every thread) to find a reader slot.
  Status Read(const std::function<Status(MDB_txn*)>& fn) const;

  // Compacted, consistent copy of the data file into dir (MDB_CP_COMPACT).
  Status CopyCompact(const std::string& dir) const;
  std::string data_file() const { return dir_ + "/data.mdb"; }

 private:
  struct Op {
    WriteFn fn;
    std::function<Status()> exclusive;
    std::optional<std::promise<Status>> done;  // absent for WriteAsync: nobody waits
    bool async() const { return !done.has_value(); }
    void Finish(Status s) {
      if (done) done->set_value(std::move(s));
    }
  };
  Store() = default;
  void Enqueue(std::unique_ptr<Op> op);
  Status EnqueueAndWait(std::unique_ptr<Op> op);
  void WriterLoop();
  void RunBatch(std::deque<std::unique_ptr<Op>>& batch);

  std::string dir_;
  MDB_env* env_ = nullptr;
  Dbs dbs_{};
  BatchHook hook_;
  std::function<Status(MDB_txn*)> pre_commit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Op>> queue_;
  std::size_t waited_ops_ = 0;  // queued ops whose caller waits (not WriteAsync)
  bool stop_ = false;
  std::thread writer_;
  std::thread::id writer_id_;
  static constexpr std::size_t kMaxIdleReads = 64;
  mutable std::mutex read_mu_;
  mutable std::vector<MDB_txn*> idle_reads_;  // reset read-only transactions
};

// Helpers for use inside transactions.
std::optional<std::string_view> Get(MDB_txn* txn, MDB_dbi dbi, std::string_view key);
Status Put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value);
Status Put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, const std::vector<std::uint8_t>& value);
// For keys greater than every key in dbi (sequence numbers): LMDB appends without a search
// and fills pages instead of splitting them in half. kDataLoss, writing nothing, when the key
// is not past the last one.
Status PutAppend(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value);
Status Del(MDB_txn* txn, MDB_dbi dbi, std::string_view key);  // ok if absent
// Calls fn(key, value) for every entry whose key starts with prefix; fn returns false to stop.
Status ScanPrefix(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix,
                  const std::function<bool(std::string_view, std::string_view)>& fn);
std::uint64_t CountEntries(MDB_txn* txn, MDB_dbi dbi);
inline std::string_view AsView(const std::vector<std::uint8_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

}  // namespace vault
