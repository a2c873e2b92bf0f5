// The test clock: $LETHE_TEST_CLOCK_FILE names a file holding the current time in Unix
// seconds, read at every tick, so end-to-end tests move the time of every `lethe` process they
// start (serve, backup, restore, sweep) without sleeping. For tests only.
#pragma once

#include <memory>

#include "vault/clock.h"

namespace vault::cli {

inline constexpr char kTestClockEnv[] = "LETHE_TEST_CLOCK_FILE";

// The test clock when $LETHE_TEST_CLOCK_FILE is set (a warning goes to stderr), else nullptr.
std::shared_ptr<Clock> TestClockFromEnvironment();

}  // namespace vault::cli
