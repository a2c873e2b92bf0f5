// One libpq connection with the storage seam's prepared statements, and libpq's errors as
// Status (connection trouble is kUnavailable; a lost race is a conflict to retry).
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "vault/status.h"

namespace vault::pg {

struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultFree>;

// The statements every connection prepares (pg_conn.cc has their SQL).
enum class Stmt { kGet, kPut, kInsert, kDel, kScan, kScanBounded, kAtOrAfter, kCount };

// A failed statement: its Status and whether it lost a race with another transaction
// (serialization failure, deadlock, or a unique key another transaction took first).
struct Failure {
  Status status;
  bool conflict = false;
};

// Set (by shutdown: Store::Abandon) when calls waiting on the database are to give up.
using AbandonFlag = std::atomic<bool>;

class Conn {
 public:
  // Connects; kUnavailable when the database is unreachable or abandon is set. Every call
  // then waits for its answer in slices of kAbandonPoll and, once abandon is set, fails
  // (kUnavailable) and leaves the connection broken instead of waiting on (a database that
  // stopped answering: docs/operations.md "Stopping"). abandon may be null; it must
  // outlive the connection.
  static StatusOr<std::unique_ptr<Conn>> Open(const std::string& conninfo,
                                              const AbandonFlag* abandon = nullptr);
  static constexpr int kAbandonPollMs = 100;
  // What a call abandoned at shutdown answers (kUnavailable).
  static constexpr const char* kGaveUp = "the server is shutting down (PostgreSQL did not answer)";
  // Prepares the statements (the schema must exist).
  Status Prepare();
  ~Conn() { PQfinish(conn_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // A command without parameters (BEGIN, COMMIT, DDL): ok, or the failure.
  Failure Command(const char* sql);
  // A prepared statement. Parameters: the table name (text), then up to three values, each
  // binary (keys and values) or, when text is set, text (limits). Results are binary.
  struct Param {
    std::string_view bytes;
    bool text = false;
  };
  Result Run(Stmt stmt, std::string_view table, std::initializer_list<Param> params,
             Failure* failure);
  // A query without parameters with a text result; null and *failure set when it fails.
  Result Query(const char* sql, Failure* failure);
  // Lost: libpq says so, or a command failed inside libpq (no SQLSTATE: the server went away
  // without a word, as in a crash) and the connection is not to be used again.
  bool Broken() const { return lost_ || PQstatus(conn_) != CONNECTION_OK; }

 private:
  Conn(PGconn* c, const AbandonFlag* abandon) : conn_(c), abandon_(abandon) {}
  Failure Check(const Result& r, ExecStatusType want, const char* what) const;
  // After a PQsend* call (sent: its result): the last result of the command, or null when
  // the connection failed or the wait was abandoned.
  Result Await(int sent);
  bool Abandoned() const { return abandon_ != nullptr && abandon_->load(); }
  PGconn* conn_;
  const AbandonFlag* abandon_;
  mutable bool lost_ = false;
  bool gave_up_ = false;  // a call was abandoned: the connection is not used again
};

inline std::string_view Value(const PGresult* r, int row, int col) {
  return {PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col))};
}

}  // namespace vault::pg
