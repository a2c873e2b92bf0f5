// libpq connections for the PostgreSQL backend (pg_conn.h).
#include "vault/pg_conn.h"

#include <poll.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace vault::pg {
namespace {

struct Prepared {
  const char* name;
  const char* sql;
};

// bytea compares bytewise (memcmp, then length), the order LMDB keeps keys in. Plain SQL
// that CockroachDB and YugabyteDB accept too (docs/design.md "Storage backends"). Every
// range query has ORDER BY k: without it, the generic plan PostgreSQL switches a prepared
// statement to after five runs may be a sequential scan that reads the whole table when no
// row matches (at_or_after, on every audit append: docs/scaling.md).
constexpr std::array<Prepared, 8> kStatements = {{
    {"get", "SELECT v FROM lethe_kv WHERE t = $1 AND k = $2"},
    {"put",
     "INSERT INTO lethe_kv (t, k, v) VALUES ($1, $2, $3) "
     "ON CONFLICT (t, k) DO UPDATE SET v = EXCLUDED.v"},
    {"insert", "INSERT INTO lethe_kv (t, k, v) VALUES ($1, $2, $3)"},
    {"del", "DELETE FROM lethe_kv WHERE t = $1 AND k = $2"},
    {"scan", "SELECT k, v FROM lethe_kv WHERE t = $1 AND k >= $2 ORDER BY k LIMIT $3"},
    {"scan_bounded",
     "SELECT k, v FROM lethe_kv WHERE t = $1 AND k >= $2 AND k < $3 ORDER BY k LIMIT $4"},
    {"at_or_after", "SELECT 1 FROM lethe_kv WHERE t = $1 AND k >= $2 ORDER BY k LIMIT 1"},
    {"count", "SELECT count(*)::text FROM lethe_kv WHERE t = $1"},
}};

bool Unreachable(std::string_view state) {
  // connection exceptions, shutdown, a standby (read-only), out of resources
  return state.substr(0, 2) == "08" || state.substr(0, 3) == "57P" || state == "25006" ||
         state.substr(0, 2) == "53";
}

// PQconnectdb, on a thread of its own when the wait may be abandoned: a server that stopped
// answering keeps an attempt blocked forever (connect_timeout, when the URI sets one, and
// trying the next host stay libpq's). Abandoned: returns null at once; the thread closes the
// connection whenever libpq returns.
PGconn* ConnectAbandonably(const std::string& conninfo, const AbandonFlag* abandon, bool* gave_up) {
  if (abandon == nullptr) return PQconnectdb(conninfo.c_str());
  struct Attempt {
    std::mutex mu;
    std::condition_variable cv;
    PGconn* conn = nullptr;
    bool done = false;
    bool orphaned = false;
  };
  auto attempt = std::make_shared<Attempt>();
  std::thread([attempt, conninfo] {
    PGconn* c = PQconnectdb(conninfo.c_str());
    std::lock_guard lock(attempt->mu);
    if (attempt->orphaned) {
      PQfinish(c);
      return;
    }
    attempt->conn = c;
    attempt->done = true;
    attempt->cv.notify_all();
  }).detach();
  std::unique_lock lock(attempt->mu);
  while (!attempt->done) {
    if (abandon->load()) {
      attempt->orphaned = true;
      *gave_up = true;
      return nullptr;
    }
    attempt->cv.wait_for(lock, std::chrono::milliseconds(Conn::kAbandonPollMs));
  }
  return attempt->conn;
}

}  // namespace

StatusOr<std::unique_ptr<Conn>> Conn::Open(const std::string& conninfo,
                                           const AbandonFlag* abandon) {
  bool gave_up = abandon != nullptr && abandon->load();
  PGconn* c = gave_up ? nullptr : ConnectAbandonably(conninfo, abandon, &gave_up);
  if (gave_up) return Status(Code::kUnavailable, kGaveUp);
  if (c == nullptr) return Status(Code::kUnavailable, "cannot connect to PostgreSQL: no memory");
  if (PQstatus(c) != CONNECTION_OK) {
    // libpq's message names the host and the reason, never the password.
    std::string why = PQerrorMessage(c);
    PQfinish(c);
    if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    return Status(Code::kUnavailable, "cannot connect to PostgreSQL: " + why);
  }
  // Notices ("relation already exists, skipping") are not errors: not on stderr.
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<Conn>(new Conn(c, abandon));
}

Status Conn::Prepare() {
  for (const Prepared& p : kStatements) {
    Result r = Await(PQsendPrepare(conn_, p.name, p.sql, 0, nullptr));
    VAULT_RETURN_IF_ERROR(Check(r, PGRES_COMMAND_OK, "prepare").status);
  }
  return Status::Ok();
}

Failure Conn::Check(const Result& r, ExecStatusType want, const char* what) const {
  if (r && PQresultStatus(r.get()) == want) return {};
  Failure f;
  if (gave_up_) {
    f.status = Status(Code::kUnavailable, std::string(what) + ": " + kGaveUp);
    return f;
  }
  if (!r || Broken()) {
    f.status =
        Status(Code::kUnavailable, std::string(what) + ": the connection to PostgreSQL is lost");
    return f;
  }
  const char* s = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY);
  const std::string state = s != nullptr ? s : "";
  if (state.empty()) {  // libpq's own failure: the server is gone (a crash, a failover)
    lost_ = true;
    f.status =
        Status(Code::kUnavailable, std::string(what) + ": the connection to PostgreSQL is lost");
    return f;
  }
  // The primary message only: the detail line can quote key values.
  const std::string msg =
      std::string(what) + ": PostgreSQL " + state + ": " + (primary != nullptr ? primary : "error");
  f.conflict = state == "40001" || state == "40P01";
  if (f.conflict || Unreachable(state)) {
    f.status = Status(Code::kUnavailable, msg);
  } else {
    f.status = Internal(msg);
  }
  return f;
}

Result Conn::Await(int sent) {
  if (sent == 0 || gave_up_) {
    lost_ = true;
    return nullptr;
  }
  Result last;
  for (;;) {
    while (PQisBusy(conn_) != 0) {
      if (Abandoned()) {  // the answer may never come: this connection is done with
        gave_up_ = lost_ = true;
        return nullptr;
      }
      pollfd p{PQsocket(conn_), POLLIN, 0};
      (void)::poll(&p, 1, kAbandonPollMs);
      if (PQconsumeInput(conn_) == 0) {
        lost_ = true;
        return nullptr;
      }
    }
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) return last;
    last.reset(r);  // as PQexec: the last result of the command
  }
}

Failure Conn::Command(const char* sql) {
  Result r = Await(PQsendQuery(conn_, sql));
  return Check(r, PGRES_COMMAND_OK, "command");
}

Result Conn::Run(Stmt stmt, std::string_view table, std::initializer_list<Param> params,
                 Failure* failure) {
  std::array<const char*, 5> values{};
  std::array<int, 5> lengths{};
  std::array<int, 5> formats{};
  values[0] = table.data();
  lengths[0] = static_cast<int>(table.size());
  formats[0] = 1;  // text in binary form is its bytes
  int n = 1;
  for (const Param& p : params) {
    // A null pointer would be SQL NULL: an empty view (data() may be null) is empty bytes.
    values[n] = p.bytes.data() != nullptr ? p.bytes.data() : "";
    lengths[n] = static_cast<int>(p.bytes.size());
    formats[n] = p.text ? 0 : 1;
    ++n;
  }
  const Prepared& prep = kStatements[static_cast<std::size_t>(stmt)];
  // A text parameter must be NUL-terminated: the callers pass std::string data.
  Result r = Await(
      PQsendQueryPrepared(conn_, prep.name, n, values.data(), lengths.data(), formats.data(), 1));
  const bool rows = stmt != Stmt::kPut && stmt != Stmt::kInsert && stmt != Stmt::kDel;
  *failure = Check(r, rows ? PGRES_TUPLES_OK : PGRES_COMMAND_OK, prep.name);
  if (stmt == Stmt::kInsert && !failure->status.ok()) {
    const char* s = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
    // Another server appended this sequence key first: the batch runs again on the new tail.
    if (s != nullptr && std::strcmp(s, "23505") == 0) failure->conflict = true;
  }
  if (!failure->status.ok()) return nullptr;
  return r;
}

Result Conn::Query(const char* sql, Failure* failure) {
  Result r = Await(PQsendQuery(conn_, sql));
  *failure = Check(r, PGRES_TUPLES_OK, "query");
  if (!failure->status.ok()) return nullptr;
  return r;
}

}  // namespace vault::pg
