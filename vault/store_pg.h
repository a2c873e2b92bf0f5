// The PostgreSQL backend of the storage seam (store_pg.cc): its schema and how to open it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "vault/store.h"

namespace vault {

// The schema version this build writes; `lethe init --store` creates or migrates to it.
inline constexpr int kPgSchemaVersion = 1;

// True for a --store value that names a PostgreSQL database (postgresql:// or postgres://).
bool IsPostgresUrl(std::string_view store);
// The --store value with any password replaced by "***", for logs and messages.
std::string RedactConninfo(std::string_view conninfo);

// Connects to the database (a libpq connection string or URI; several hosts with
// target_session_attrs=read-write are libpq's business). create: makes or migrates the
// schema; otherwise the schema must be at kPgSchemaVersion. Once abandon is set (shutdown,
// any thread), calls waiting on the database fail with kUnavailable instead (pg_conn.h).
StatusOr<std::unique_ptr<StoreBackend>> OpenPgBackend(
    const std::string& conninfo, bool create, std::shared_ptr<std::atomic<bool>> abandon = nullptr);

}  // namespace vault
