// Store: the storage seam. The engine's parts see named tables of byte keys and values, read
// and written inside transactions (Txn), with group commit for writers. LMDB is the backend
// today and only store.cc knows it; another backend implements this same interface.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "vault/status.h"
#include "vault/thread_annotations.h"

struct MDB_env;
struct MDB_txn;

namespace vault {

class FileRoom;

// The tables (rows.h documents each one's keys and values).
enum class Table : std::uint8_t {
  kMeta,
  kSubjects,
  kRecords,
  kScopes,
  kKeys,
  kExpiry,
  kHolds,
  kErasures,
  kErasureDue,
  kTokens,
  kAudit,
  kBlind,
  kSlotsFree,
  kSlotsFreed,
  kRekeys,
  kAuditCheckpoints,
  kPasswords,
  kConsents,
  kConsentDue,
  kRestrictions,
};
inline constexpr std::size_t kTableCount = 20;
const char* TableName(Table t);

// One transaction: a consistent snapshot (read) or an atomic change (write). Views it hands
// out are valid until the transaction ends or, in a scan, until the callback returns.
class Txn {
 public:
  using Visit = std::function<bool(std::string_view key, std::string_view value)>;
  // What an UpdateFrom callback does with the entry it is shown.
  struct Step {
    std::optional<std::string> value;  // replaces the entry's value in place
    bool stop = false;                 // visit no further entries
  };
  using Update = std::function<StatusOr<Step>(std::string_view key, std::string_view value)>;

  std::optional<std::string_view> Get(Table t, std::string_view key) const;
  Status Put(Table t, std::string_view key, std::string_view value);
  Status Put(Table t, std::string_view key, const std::vector<std::uint8_t>& value);
  // For keys greater than every key in t (sequence numbers): appends without a search and
  // fills pages instead of splitting them. kDataLoss, writing nothing, when the key is not
  // past the last one.
  Status Append(Table t, std::string_view key, std::string_view value);
  Status Del(Table t, std::string_view key);  // ok if absent
  // fn(key, value) for every entry whose key starts with prefix, in key order; fn returns
  // false to stop.
  Status ScanPrefix(Table t, std::string_view prefix, const Visit& fn) const;
  // fn(key, value) for every entry whose key is >= from, in key order; false stops.
  Status ScanFrom(Table t, std::string_view from, const Visit& fn) const;
  // Like ScanFrom, and fn may overwrite the value of the entry it is shown; its error ends
  // the scan and is returned.
  Status UpdateFrom(Table t, std::string_view from, const Update& fn);
  std::uint64_t Count(Table t) const;

 private:
  friend class Store;
  Txn(MDB_txn* txn, const std::array<unsigned, kTableCount>& dbis) : txn_(txn), dbis_(dbis) {}
  unsigned Dbi(Table t) const { return dbis_[static_cast<std::size_t>(t)]; }
  Status Scan(Table t, std::string_view from, const Update& fn) const;
  MDB_txn* txn_;
  const std::array<unsigned, kTableCount>& dbis_;
};

// The smallest key greater than key: where a scan resumes after it.
inline std::string KeyAfter(std::string_view key) {
  std::string next(key);
  next.push_back('\0');
  return next;
}

// Run inside every write transaction, around the operations it carries.
struct StoreHooks {
  std::function<Status(Txn&)> begin;       // first (e.g. to notice a keyring change)
  std::function<Status(Txn&)> pre_commit;  // last, before the commit (e.g. to sync key slots)
};

// Thread-safe. Writes run on one writer thread: concurrent Write() calls are batched into
// one transaction and one commit, then all callers are released. An operation that fails
// is taken out of the batch and the others run again without it, so one failing op never
// undoes another's write. Operations may therefore run more than once: they must depend
// only on the transaction they are given and overwrite what they report.
class Store {
 public:
  using WriteFn = std::function<Status(Txn&)>;

  static StatusOr<std::unique_ptr<Store>> Open(const std::string& dir, std::uint64_t map_size,
                                               bool create, StoreHooks hooks = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs fn in the next batch and returns once its effects are durable (or fn's error).
  Status Write(WriteFn fn) EXCLUDES(mu_);
  // Same, but does not wait (audit entries of reads); its outcome is not reported. When only
  // such operations are queued, the writer lets them gather for up to kAsyncLinger before
  // committing them together, so a stream of reads costs a commit every 20 ms (or 512
  // entries) instead of one per batch of a few reads. Any Write(), Exclusive() or Flush()
  // ends the wait.
  void WriteAsync(WriteFn fn) EXCLUDES(mu_);
  // Returns once every operation queued before it, WriteAsync ones included, is durable.
  Status Flush() EXCLUDES(mu_);
  static constexpr std::chrono::milliseconds kAsyncLinger{20};
  // Runs fn alone on the writer thread, between batches; fn may call Transact() for its own
  // sequence of transactions (long operations done in steps: rotation, scrubbing).
  Status Exclusive(std::function<Status()> fn) EXCLUDES(mu_);
  // REQUIRES: called from inside an Exclusive() function. One durable transaction.
  Status Transact(const WriteFn& fn);

  // A read-only snapshot; short-lived, on any thread. Values must be copied out. Read
  // transactions are reset and renewed from a pool, so a read does not take LMDB's reader
  // table lock (shared by every thread) to find a reader slot.
  Status Read(const std::function<Status(Txn&)>& fn) const EXCLUDES(read_mu_);

  // Compacted, consistent copy of the data file into fd (a new, empty file the caller
  // opened with the mode it wants; LMDB's own copy by path would create it 0644).
  Status CopyCompactTo(int fd) const;
  // Bytes of the data file in use (pages up to the last one written): an upper bound of a
  // compacted copy's size, for progress reports.
  std::uint64_t UsedBytes() const;

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
  using Batch = std::deque<std::unique_ptr<Op>>;
  Store() = default;
  void Enqueue(std::unique_ptr<Op> op) EXCLUDES(mu_);
  Status EnqueueAndWait(std::unique_ptr<Op> op) EXCLUDES(mu_);
  void WriterLoop() EXCLUDES(mu_);
  Batch NextBatch() EXCLUDES(mu_);
  void RunBatch(Batch& batch);
  Status BeginWrite(MDB_txn** txn);
  void KeepRoom();
  Status FinishWrite(MDB_txn* txn, Status ops);

  MDB_env* env_ = nullptr;
  std::array<unsigned, kTableCount> dbis_{};
  StoreHooks hooks_;  // set before the writer starts, never changed
  std::unique_ptr<FileRoom> room_;  // zeros ahead of the data file's last page
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Op>> queue_ GUARDED_BY(mu_);
  std::size_t waited_ops_ GUARDED_BY(mu_) = 0;  // queued ops whose caller waits
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread writer_;
  std::thread::id writer_id_;
  static constexpr std::size_t kMaxIdleReads = 64;
  mutable Mutex read_mu_;
  mutable std::vector<MDB_txn*> idle_reads_ GUARDED_BY(read_mu_);  // reset read transactions
};

inline std::string_view AsView(const std::vector<std::uint8_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

}  // namespace vault
