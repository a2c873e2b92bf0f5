// The `vault` command line: init, serve, token, backup/restore, epoch, sweep, audit, policy.
#pragma once

namespace vault::cli {

// Exit codes, listed in `vault --help`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // runtime failure (I/O, bind, engine error)
inline constexpr int kExitUsage = 2;    // bad command line
inline constexpr int kExitInvalid = 3;  // invalid data or policy (corrupt store, bad policy)
inline constexpr int kExitOverdue = 4;  // `report`: the vault is behind on a promise

int Main(int argc, char** argv);

}  // namespace vault::cli
