// Backups: a compacted LMDB copy without the keyring, and restore against a live keyring.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "crypto/primitives.h"
#include "vault/engine.h"
#include "vault/vault.h"

namespace vault {
namespace {

namespace fs = std::filesystem;
constexpr char kManifest[] = "manifest.json";
constexpr char kDataFile[] = "data.mdb";
constexpr char kSlotsFile[] = "keyslots";

bool EmptyOrMissingDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  return fs::is_directory(dir, ec) && fs::is_empty(dir, ec);
}

Status FsyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Internal("cannot open " + path + " to sync it");
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Internal("cannot sync " + path);
}

}  // namespace

StatusOr<BackupManifest> Vault::Backup(const std::string& out_dir, const ProgressFn& progress) {
  if (!EmptyOrMissingDir(out_dir)) {
    return InvalidArgument("backup directory " + out_dir + " is not empty; choose a new one");
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return InvalidArgument("cannot create backup directory " + out_dir + ": " + ec.message());
  ::chmod(out_dir.c_str(), 0700);

  BackupManifest m;
  m.path = out_dir;
  m.created_at = impl_->clock->Now();
  // The epochs whose KEKs may wrap DEKs in the copy: all live ones (a rotation may be
  // rewrapping while we copy). The copy is readable until the first of those dies.
  const auto epochs = impl_->keyring->Epochs();
  m.epoch = impl_->keyring->current_epoch();
  m.readable_until = 0;
  for (const auto& e : epochs) {
    if (e.destroyed) continue;
    m.epochs_needed.push_back(e.id);
    const UnixSeconds retire =
        e.retired_at != 0 ? e.retired_at
                          : std::max(m.created_at, impl_->policy.epoch.AddTo(e.created_at));
    const UnixSeconds dies = impl_->policy.horizon.AddTo(retire);
    if (m.readable_until == 0 || dies < m.readable_until) m.readable_until = dies;
  }
  if (progress) progress(0, 3);
  // Slots freed while the copy runs stay whole until both files are copied: the LMDB
  // snapshot may still reference them. They are zeroed right after.
  VAULT_RETURN_IF_ERROR(PauseSlotZeroing(*impl_, true));
  Status copied = impl_->store->CopyCompact(out_dir);
  std::error_code cec;
  if (copied.ok()) {
    fs::copy_file(impl_->keyslots_path(), out_dir + "/" + kSlotsFile, cec);
    if (cec) copied = Internal("cannot copy key slots: " + cec.message());
  }
  Status resumed = PauseSlotZeroing(*impl_, false);
  if (!resumed.ok() && copied.ok()) copied = resumed;
  VAULT_RETURN_IF_ERROR(impl_->store->Exclusive([this] { return ZeroFreedSlots(*impl_); }));
  VAULT_RETURN_IF_ERROR(copied);
  if (progress) progress(1, 3);
  const std::string data = out_dir + "/" + kDataFile;
  const std::string slots = out_dir + "/" + kSlotsFile;
  VAULT_RETURN_IF_ERROR(FsyncPath(data));
  VAULT_RETURN_IF_ERROR(FsyncPath(slots));
  auto digest = crypto::Sha256File(data);
  auto slots_digest = crypto::Sha256File(slots);
  if (!digest || !slots_digest) return Internal("cannot read back the backup files");
  m.sha256 = crypto::ToHex(*digest);
  m.slots_sha256 = crypto::ToHex(*slots_digest);
  m.policy_sha256 = impl_->policy.source_sha256;
  if (progress) progress(2, 3);

  nlohmann::json j = {{"format", "vault-backup-1"},
                      {"created_at", FormatRfc3339(m.created_at)},
                      {"epoch", m.epoch},
                      {"epochs_needed", m.epochs_needed},
                      {"readable_until", FormatRfc3339(m.readable_until)},
                      {"policy_sha256", m.policy_sha256},
                      {"file", kDataFile},
                      {"sha256", m.sha256},
                      {"slots_file", kSlotsFile},
                      {"slots_sha256", m.slots_sha256}};
  const std::string manifest = out_dir + "/" + kManifest;
  {
    std::ofstream out(manifest, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) return Internal("cannot write " + manifest);
  }
  VAULT_RETURN_IF_ERROR(FsyncPath(manifest));
  VAULT_RETURN_IF_ERROR(FsyncPath(out_dir));
  if (progress) progress(3, 3);
  return m;
}

StatusOr<RestoreResult> Vault::Restore(const std::string& from_dir, const std::string& data_dir,
                                       const std::string& keyring_file,
                                       std::shared_ptr<RootKeyProvider> root_key,
                                       const ProgressFn& progress) {
  if (!root_key) return InvalidArgument("a root key is required to restore");
  const std::string manifest_path = from_dir + "/" + kManifest;
  std::ifstream in(manifest_path);
  if (!in) return InvalidArgument("no manifest.json in " + from_dir + " (not a vault backup?)");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || j.value("format", "") != "vault-backup-1" || !j.contains("sha256") ||
      !j["sha256"].is_string() || !j.contains("epochs_needed") || !j["epochs_needed"].is_array()) {
    return InvalidArgument(manifest_path + " is not a valid vault backup manifest");
  }
  if (!EmptyOrMissingDir(data_dir)) {
    return InvalidArgument("restore target " + data_dir +
                           " is not empty; restore into a new directory");
  }
  const std::string data = from_dir + "/" + kDataFile;
  if (progress) progress(0, 3);
  auto digest = crypto::Sha256File(data);
  if (!digest) return InvalidArgument("cannot read " + data);
  if (crypto::ToHex(*digest) != j["sha256"].get<std::string>()) {
    return DataLoss("backup checksum mismatch: " + data + " is damaged or was modified");
  }
  const std::string slots = from_dir + "/" + kSlotsFile;
  auto slots_digest = crypto::Sha256File(slots);
  if (!slots_digest || !j.contains("slots_sha256") || !j["slots_sha256"].is_string() ||
      crypto::ToHex(*slots_digest) != j["slots_sha256"].get<std::string>()) {
    return DataLoss("backup checksum mismatch: " + slots + " is missing, damaged or was modified");
  }
  if (progress) progress(1, 3);

  VAULT_ASSIGN_OR_RETURN(auto root, root_key->Load());
  VAULT_ASSIGN_OR_RETURN(auto keyring, Keyring::Open(keyring_file, std::move(root)));
  std::map<std::uint64_t, EpochInfo> known;
  for (const auto& e : keyring->Epochs()) known[e.id] = e;
  std::string missing;
  for (const auto& ej : j["epochs_needed"]) {
    if (!ej.is_number_unsigned()) return InvalidArgument("manifest epochs_needed is malformed");
    const auto id = ej.get<std::uint64_t>();
    auto it = known.find(id);
    if (it == known.end()) {
      missing +=
          " epoch " + std::to_string(id) + " (destroyed long ago, or a keyring of another store)";
    } else if (it->second.destroyed) {
      missing += " epoch " + std::to_string(id) + " (destroyed " +
                 FormatRfc3339(it->second.destroyed_at) + ")";
    }
  }
  if (!missing.empty()) {
    return Status(Code::kGone,
                  "this backup can no longer be read: the keys it needs were "
                  "destroyed when the shred horizon passed:" +
                      missing);
  }

  std::error_code ec;
  fs::create_directories(data_dir + "/store", ec);
  if (ec) return InvalidArgument("cannot create " + data_dir + ": " + ec.message());
  ::chmod(data_dir.c_str(), 0700);
  ::chmod((data_dir + "/store").c_str(), 0700);
  fs::copy_file(data, data_dir + "/store/data.mdb", ec);
  if (!ec) fs::copy_file(slots, data_dir + "/keyslots", ec);
  if (!ec) fs::copy_file(keyring_file, data_dir + "/keyring", ec);
  if (ec) return Internal("restore copy failed: " + ec.message());
  ::chmod((data_dir + "/keyring").c_str(), 0600);
  ::chmod((data_dir + "/store/data.mdb").c_str(), 0600);
  ::chmod((data_dir + "/keyslots").c_str(), 0600);
  VAULT_RETURN_IF_ERROR(FsyncPath(data_dir + "/keyslots"));
  VAULT_RETURN_IF_ERROR(FsyncPath(data_dir + "/store/data.mdb"));
  VAULT_RETURN_IF_ERROR(FsyncPath(data_dir + "/keyring"));
  if (progress) progress(2, 3);

  // Prove the restored store opens and its keyring matches before calling it done.
  Options o;
  o.data_dir = data_dir;
  o.root_key = root_key;
  auto opened = Vault::Open(o);
  if (!opened.ok()) {
    return Status(opened.status().code(),
                  "restored store does not open: " + opened.status().message());
  }
  if (progress) progress(3, 3);
  RestoreResult r;
  r.data_dir = data_dir;
  r.manifest.path = from_dir;
  r.manifest.sha256 = j["sha256"].get<std::string>();
  r.manifest.epoch = j.value("epoch", std::uint64_t{0});
  for (const auto& ej : j["epochs_needed"])
    r.manifest.epochs_needed.push_back(ej.get<std::uint64_t>());
  r.manifest.created_at = ParseRfc3339(j.value("created_at", "")).value_or(0);
  r.manifest.readable_until = ParseRfc3339(j.value("readable_until", "")).value_or(0);
  r.manifest.policy_sha256 = j.value("policy_sha256", "");
  return r;
}

}  // namespace vault
