// Store: the storage seam. The engine's parts see named tables of byte keys and values, read
// and written inside transactions (Txn), with group commit for writers (store.cc). A backend
// (StoreBackend) supplies the transactions: LMDB (store_lmdb.cc, the default) or PostgreSQL
// (store_pg.cc); only those files know their database.
#pragma once

#include <array>
#include <atomic>
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

namespace vault {

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
  kKeySlots,
  kObjections,
  kRequests,
  kRequestsBySubject,
  kKeyring,  // the system keys sealed under the root key, when the keyring is a token's
};
inline constexpr std::size_t kTableCount = 25;
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

  virtual ~Txn() = default;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  virtual std::optional<std::string_view> Get(Table t, std::string_view key) const = 0;
  virtual Status Put(Table t, std::string_view key, std::string_view value) = 0;
  Status Put(Table t, std::string_view key, const std::vector<std::uint8_t>& value);
  // For keys greater than every key in t (sequence numbers): appends without a search and
  // fills pages instead of splitting them. kDataLoss, writing nothing, when the key is not
  // past the last one.
  virtual Status Append(Table t, std::string_view key, std::string_view value) = 0;
  virtual Status Del(Table t, std::string_view key) = 0;  // ok if absent
  // fn(key, value) for every entry whose key starts with prefix, in key order; fn returns
  // false to stop.
  Status ScanPrefix(Table t, std::string_view prefix, const Visit& fn) const;
  // fn(key, value) for every entry whose key is >= from, in key order; false stops.
  Status ScanFrom(Table t, std::string_view from, const Visit& fn) const;
  // Like ScanFrom, and fn may overwrite the value of the entry it is shown; its error ends
  // the scan and is returned.
  Status UpdateFrom(Table t, std::string_view from, const Update& fn);
  virtual std::uint64_t Count(Table t) const = 0;
  // A statement failed (the database went away): the transaction is dead, and a Get that
  // found nothing may have failed; the Store reports this error in place of the result.
  // Always ok on LMDB (its errors are returned).
  virtual Status Error() const { return Status::Ok(); }

 protected:
  Txn() = default;
  // The backend's scan: entries with key >= from that start with prefix ("" : all), in key
  // order, until fn stops; a Step's value is written back (only UpdateFrom returns one, and
  // only in a write transaction).
  virtual Status Scan(Table t, std::string_view from, std::string_view prefix,
                      const Update& fn) const = 0;
};

// A write transaction as a backend hands it to the Store's writer thread.
class WriteTxn : public Txn {
 public:
  virtual Status Commit() = 0;  // durable once it returns ok
  virtual void Abort() = 0;
  // The transaction lost a race with another writer (a serialization failure or deadlock):
  // the Store aborts it and runs its operations again. Never true on LMDB (one writer).
  virtual bool Conflicted() const { return false; }
};

// Where the data lives: one database behind the Store. Write transactions are begun only on
// the Store's writer thread, one at a time; Read may run on any thread.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  virtual StatusOr<std::unique_ptr<WriteTxn>> BeginWrite() = 0;
  virtual Status Read(const std::function<Status(Txn&)>& fn) const = 0;
  // Around an Store::Exclusive() function: excludes other servers' exclusive functions
  // (a database lock) where several servers share the database.
  virtual Status LockExclusive() { return Status::Ok(); }
  virtual void UnlockExclusive() {}
  virtual Status CopyCompactTo(int fd) const = 0;
  virtual std::uint64_t UsedBytes() const = 0;
  // "lmdb" or "postgresql".
  virtual const char* Name() const = 0;
};

// The LMDB backend (store_lmdb.cc): the environment in dir, created when create is set.
StatusOr<std::unique_ptr<StoreBackend>> OpenLmdbBackend(const std::string& dir,
                                                        std::uint64_t map_size, bool create);

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

  // The store over backend; starts the writer thread.
  static StatusOr<std::unique_ptr<Store>> Open(std::unique_ptr<StoreBackend> backend,
                                               StoreHooks hooks = {});
  // An LMDB store in dir (OpenLmdbBackend).
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
  // The caller is the writer thread (inside an operation, a hook or an Exclusive function).
  bool OnWriterThread() const { return std::this_thread::get_id() == writer_id_; }
  static constexpr std::chrono::milliseconds kAsyncLinger{20};
  // Runs fn alone on the writer thread, between batches; fn may call Transact() for its own
  // sequence of transactions (long operations done in steps: rotation, scrubbing).
  Status Exclusive(std::function<Status()> fn) EXCLUDES(mu_);
  // REQUIRES: called from inside an Exclusive() function. One durable transaction.
  Status Transact(const WriteFn& fn);
  // Test hook: after `skip` more Transact() attempts, the next n end, once fn has run, as a
  // transaction that lost a race on PostgreSQL does (SQLSTATE 40001 at commit): rolled back,
  // then fn runs again. So callers are tested for keeping no state of an attempt that did
  // not commit.
  static void TEST_ConflictTransacts(int skip, int n) {
    conflict_skip_.store(skip);
    forced_conflicts_.store(n);
  }

  // A read-only snapshot; short-lived, on any thread. Values must be copied out.
  Status Read(const std::function<Status(Txn&)>& fn) const { return backend_->Read(fn); }

  // Compacted, consistent copy of the data file into fd (a new, empty file the caller
  // opened with the mode it wants; LMDB's own copy by path would create it 0644).
  Status CopyCompactTo(int fd) const { return backend_->CopyCompactTo(fd); }
  // Bytes of the data file in use (pages up to the last one written): an upper bound of a
  // compacted copy's size, for progress reports.
  std::uint64_t UsedBytes() const { return backend_->UsedBytes(); }
  const StoreBackend& backend() const { return *backend_; }

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
  std::ptrdiff_t RunOps(Batch& batch, const std::vector<std::size_t>& todo, std::size_t limit,
                        Status* failed);
  StatusOr<std::unique_ptr<WriteTxn>> BeginWrite();
  Status FinishWrite(WriteTxn& txn, Status ops);
  bool RetryAfterConflict(int* attempts);

  std::unique_ptr<StoreBackend> backend_;
  StoreHooks hooks_;  // set before the writer starts, never changed
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Op>> queue_ GUARDED_BY(mu_);
  std::size_t waited_ops_ GUARDED_BY(mu_) = 0;  // queued ops whose caller waits
  bool stop_ GUARDED_BY(mu_) = false;
  static bool ForcedConflict();  // the test hook's decision for one attempt
  static inline std::atomic<int> conflict_skip_{0};
  static inline std::atomic<int> forced_conflicts_{0};
  std::thread writer_;
  std::thread::id writer_id_;
};

inline std::string_view AsView(const std::vector<std::uint8_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

}  // namespace vault
