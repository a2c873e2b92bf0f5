// The vault engine in-process as the system under test (vault::Vault with the default policy,
// durable: every put returns after its group commit's fsyncs).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/suite/load.h"

namespace bench {

// Opens the store in dir, creating it on first use (runs share it, as the HTTP server's store
// and PostgreSQL's database are shared: a fresh file would pay for growing at every commit).
std::unique_ptr<System> MakeEngineSystem(const std::string& dir);

// Epoch rotation: seeds `keys` live DEKs (keys/2 new subjects, each holding a subject-scope
// and an account-scope DEK), then times `reps` rotations, each rewrapping every DEK.
nlohmann::json RotationBench(const std::string& dir, std::uint64_t keys, unsigned reps);

}  // namespace bench
