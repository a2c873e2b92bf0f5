// PostgreSQL as the system under test (libpq, one connection per client, prepared statements):
// records in bytea, encrypted by pgcrypto in the server or by libsodium in the client.
#pragma once

#include <memory>
#include <string>

#include "bench/suite/load.h"

namespace bench {

enum class PgCrypto {
  kPgcrypto,  // pgp_sym_encrypt / pgp_sym_decrypt in the server, the key sent per statement
  kSodium,    // XChaCha20-Poly1305 in the client (libsodium), one application key
};

// conninfo: a libpq connection string. Creates the schema if missing (CreateSchema).
std::unique_ptr<System> MakePgSystem(const std::string& conninfo, PgCrypto crypto);

// Drops and creates the tables (subjects, records) and the pgcrypto extension.
void CreatePgSchema(const std::string& conninfo);

}  // namespace bench
