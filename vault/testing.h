// Test hooks: the named ways tests reach the engine's internals (linked only into tests and
// fuzz tools, from the vault_test_hooks library; never into the service). Each works on
// files as the engine writes them, through the engine's own formats.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "crypto/secret.h"
#include "vault/keyring.h"
#include "vault/status.h"
#include "vault/store.h"

namespace vault {

// Every KEK a keyring still holds, by epoch: what an attacker with the root key has.
std::map<std::uint64_t, crypto::SecretBytes> TEST_LiveKeks(const Keyring& keyring);

// One record's ciphertext as found in a store's data file, with the associated data its
// envelope is bound to.
struct TEST_RecordCiphertext {
  std::string key;  // the row key: uid (16 bytes) | category | 0 | mac
  std::vector<std::uint8_t> envelope;
  std::vector<std::uint8_t> context;
};
// The records of a (copy of a) store data file, read as an attacker holding it would.
StatusOr<std::vector<TEST_RecordCiphertext>> TEST_ReadRecordCiphertexts(
    const std::string& data_mdb_file);

// The rows of one table of a closed vault's store, handed to edit (to tamper with values,
// swap or drop rows), then written back: rows edit removed are deleted.
using TEST_Rows = std::vector<std::pair<std::string, std::string>>;
Status TEST_EditTable(const std::string& data_dir, Table table,
                      const std::function<void(TEST_Rows&)>& edit);

// Leaves a closed vault's store as a crash between starting an epoch and finishing its
// rewrap does: the rewrap-pending flag set.
Status TEST_MarkRewrapPending(const std::string& data_dir);

}  // namespace vault
