// Settings under the flags: a YAML config file (--config FILE or $LETHE_CONFIG) and LETHE_*
// environment variables. Precedence: flags over the environment over the file over defaults.
#pragma once

#include <string>
#include <vector>

#include "api/cli/flags.h"
#include "vault/status.h"

namespace vault::cli {

inline constexpr const char* kConfigEnv = "LETHE_CONFIG";

// The environment variable for a flag: "max-body-bytes" -> "LETHE_MAX_BODY_BYTES".
std::string EnvNameFor(const std::string& flag);

// Fills in, under what the command line set, each of specs' flags from the environment and
// from the config file (--config, else $LETHE_CONFIG; none if neither). A config file is a
// YAML mapping of flag names to scalars; an unknown name, a nested value or a boolean flag
// set to anything but true/false is an error naming the file and line.
// --help, --version and --config itself are never read from the file or the environment.
Status ApplyConfigAndEnvironment(const std::vector<FlagSpec>& specs, Flags* flags);
// The environment part alone (a command with no config file: restore's root key flags).
Status ApplyEnvironment(const std::vector<FlagSpec>& specs, Flags* flags);

}  // namespace vault::cli
