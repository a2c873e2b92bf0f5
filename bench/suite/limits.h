// Limits of this machine, measured in the same run as the workloads: the disk's fdatasync
// rate, libsodium's AEAD rate for 1 KiB, and Argon2id verifications at the policy's cost.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace bench {

// 4 KiB overwrites of one block, each followed by fdatasync, in a file under dir.
nlohmann::json FdatasyncLimit(const std::string& dir, double seconds);

// XChaCha20-Poly1305 seal, and open, of 1,011-byte records (the workloads' record), from
// `threads` threads; and a rewrap (open + seal) of a 32-byte key, as epoch rotation does.
nlohmann::json AeadLimit(unsigned threads, double seconds);

// crypto_pwhash_str_verify with Argon2id at memory_kib / iterations (the default policy's
// parameters: 19,456 KiB, 2), from `threads` threads.
nlohmann::json Argon2idLimit(unsigned threads, double seconds, unsigned memory_kib,
                             unsigned iterations);

}  // namespace bench
