// The data directory's layout: the one place that names the files in it.
#pragma once

#include <string>

namespace vault::layout {

// LMDB environment (data.mdb, lock.mdb): subjects, records, key rows, audit log, ...
inline std::string StoreDir(const std::string& data_dir) { return data_dir + "/store"; }
inline std::string StoreDataFile(const std::string& data_dir) {
  return StoreDir(data_dir) + "/data.mdb";
}
// Wrapped DEKs in fixed slots, overwritten in place.
inline std::string KeySlotsFile(const std::string& data_dir) { return data_dir + "/keyslots"; }
// Epoch KEKs and system keys sealed under the root key; never in a backup.
inline std::string KeyringFile(const std::string& data_dir) { return data_dir + "/keyring"; }
// The development root key `init` generates (0600); production keeps the root key elsewhere.
inline std::string DefaultRootKeyFile(const std::string& data_dir) {
  return data_dir + "/root.key";
}
// A backup directory holds the compacted store, the slot file and a manifest.
inline std::string BackupManifestFile(const std::string& backup_dir) {
  return backup_dir + "/manifest.json";
}
inline std::string BackupDataFile(const std::string& backup_dir) {
  return backup_dir + "/data.mdb";
}
inline std::string BackupKeySlotsFile(const std::string& backup_dir) {
  return backup_dir + "/keyslots";
}

}  // namespace vault::layout
