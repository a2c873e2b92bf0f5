// Test hooks (testing.h).
#include "vault/testing.h"

#include <filesystem>
#include <set>
#include <unistd.h>

#include "vault/epoch_rotator.h"
#include "vault/layout.h"
#include "vault/rows.h"

namespace vault {
namespace {

constexpr std::uint64_t kTestMapBytes = std::uint64_t{1} << 30;

// Runs fn in one write transaction on the closed store of data_dir.
Status WriteClosedStore(const std::string& store_dir, const Store::WriteFn& fn) {
  VAULT_ASSIGN_OR_RETURN(auto store, Store::Open(store_dir, kTestMapBytes, false));
  return store->Write(fn);
}

}  // namespace

std::map<std::uint64_t, crypto::SecretBytes> TEST_LiveKeks(const Keyring& keyring) {
  ReaderLock lock(keyring.mu_);
  std::map<std::uint64_t, crypto::SecretBytes> out;
  for (const auto& [id, k] : keyring.keks_) out.emplace(id, k.Clone());
  return out;
}

StatusOr<std::vector<TEST_RecordCiphertext>> TEST_ReadRecordCiphertexts(
    const std::string& data_mdb_file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::temp_directory_path() /
                       ("vault-test-records-" + std::to_string(::getpid()) + "-" +
                        std::to_string(std::hash<std::string>{}(data_mdb_file)));
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  fs::copy_file(data_mdb_file, dir / "data.mdb", ec);
  if (ec) return Internal("cannot copy " + data_mdb_file + ": " + ec.message());
  std::vector<TEST_RecordCiphertext> out;
  Status corrupt;
  {
    VAULT_ASSIGN_OR_RETURN(auto store, Store::Open(dir.string(), kTestMapBytes, false));
    VAULT_RETURN_IF_ERROR(store->Read([&](Txn& txn) {
      return txn.ScanFrom(Table::kRecords, "", [&](std::string_view k, std::string_view v) {
        RecordRow row;
        if (!DecodeRecord(v, &row)) corrupt = DataLoss("a record row is corrupt");
        out.push_back({std::string(k), row.envelope, RecordContext(k, row)});
        return corrupt.ok();
      });
    }));
  }
  fs::remove_all(dir, ec);
  VAULT_RETURN_IF_ERROR(corrupt);
  return out;
}

Status TEST_EditTable(const std::string& data_dir, Table table,
                      const std::function<void(TEST_Rows&)>& edit) {
  return WriteClosedStore(layout::StoreDir(data_dir), [&](Txn& txn) -> Status {
    TEST_Rows rows;
    VAULT_RETURN_IF_ERROR(txn.ScanFrom(table, "", [&](std::string_view k, std::string_view v) {
      rows.emplace_back(std::string(k), std::string(v));
      return true;
    }));
    std::set<std::string> before;
    for (const auto& [k, v] : rows) before.insert(k);
    edit(rows);
    for (const auto& [k, v] : rows) {
      before.erase(k);
      VAULT_RETURN_IF_ERROR(txn.Put(table, k, v));
    }
    for (const auto& k : before) VAULT_RETURN_IF_ERROR(txn.Del(table, k));
    return Status::Ok();
  });
}

Status TEST_MarkRewrapPending(const std::string& data_dir) {
  return WriteClosedStore(layout::StoreDir(data_dir),
                          [](Txn& txn) { return SetRewrapPending(txn, true); });
}

}  // namespace vault
