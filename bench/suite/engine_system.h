// The vault engine in-process as the system under test (vault::Vault on a fresh data
// directory, durable: every put returns after its group commit's fsyncs).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/suite/load.h"

namespace bench {

// Opens a fresh store in dir/<name> (created; removed by the caller's script).
std::unique_ptr<System> MakeEngineSystem(const std::string& dir);

// Epoch rotation: seeds `keys` live DEKs (keys/2 new subjects, each holding a subject-scope
// and an account-scope DEK), then times `reps` rotations, each rewrapping every DEK.
nlohmann::json RotationBench(const std::string& dir, std::uint64_t keys, unsigned reps);

}  // namespace bench
