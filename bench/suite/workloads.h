// The suite's workloads over any System (load.h): each seeds what it needs (untimed), runs,
// and returns one JSON object with its figures.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "bench/suite/load.h"

namespace bench {

// op: put-new (a new subject per put), put-existing (a new record of one of 64 existing
// subjects), get (64 subjects x 16 records), list (the first 100 of a subject's 100 records).
// run: a tag unique in the store, prefixed to every id.
nlohmann::json LoadWorkload(System& sys, const std::string& op, const LoadSpec& spec,
                            const std::string& run);

// reps erasures of a subject holding `records` 1 KiB records (seeded before each, untimed).
nlohmann::json EraseWorkload(System& sys, std::uint64_t records, unsigned reps,
                             const std::string& run);

// GET /v1/subjects/{sid}/export of a subject with `records` records, reps times; a route
// that answers 404 or 405 gives {"skipped": ...}.
nlohmann::json ExportWorkload(const std::string& url, const std::string& token,
                              std::uint64_t records, unsigned reps, const std::string& run);

// POST /v1/subjects/{sid}/password/verify (right password) from spec.clients clients, one
// subject each; a route that answers 404 or 405 gives {"skipped": ...}.
nlohmann::json PasswordWorkload(const std::string& url, const std::string& token,
                                const LoadSpec& spec, const std::string& run);

}  // namespace bench
