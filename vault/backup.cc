// Backups: a compacted LMDB copy without the keyring, and restore against a live keyring.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "crypto/primitives.h"
#include "vault/epoch_token.h"
#include "vault/keyring_token.h"
#include "vault/layout.h"
#include "vault/vault.h"
#include "vault/vault_impl.h"

namespace vault {
namespace {

namespace fs = std::filesystem;
constexpr char kFormat[] = "vault-backup-1";

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

// A file that does not exist yet, created 0600 whatever the umask: every file of a backup
// is as private as the store it copies.
class PrivateFile {
 public:
  explicit PrivateFile(const std::string& path)
      : path_(path), fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) {
    if (fd_ >= 0 && ::fchmod(fd_, 0600) != 0) Close();
  }
  ~PrivateFile() { Close(); }
  PrivateFile(const PrivateFile&) = delete;
  PrivateFile& operator=(const PrivateFile&) = delete;
  int fd() const { return fd_; }
  Status Opened() const { return fd_ >= 0 ? Status::Ok() : Internal("cannot create " + path_); }
  // Writes all of data; false on any failure.
  bool WriteAll(const char* data, std::size_t n) const {
    while (n > 0) {
      const ssize_t w = ::write(fd_, data, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      data += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

 private:
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::string path_;
  int fd_;
};

// Bytes written so far against the bytes expected, told to the caller's ProgressFn. The
// expectation is an upper bound (a compacted copy is smaller than the pages in use), so the
// total is corrected to what was written when the copy ends.
class ByteProgress {
 public:
  ByteProgress(const ProgressFn& fn, std::uint64_t expected) : fn_(fn), total_(expected) {}
  void Add(std::uint64_t n) {
    done_ += n;
    if (total_ < done_) total_ = done_;
    if (fn_) fn_(done_, total_);
  }
  void Finish() {
    total_ = done_;
    if (fn_) fn_(done_, total_);
  }

 private:
  const ProgressFn& fn_;
  std::uint64_t done_ = 0;
  std::uint64_t total_;
};

// A new private file that hashes and counts what is written to it, so a backup's checksums
// cost no second read of the copy.
class CountedCopy {
 public:
  CountedCopy(const std::string& path, ByteProgress& progress)
      : path_(path), out_(path), progress_(progress) {}
  Status Opened() const { return out_.Opened(); }
  Status Write(const char* data, std::size_t n) {
    if (!out_.WriteAll(data, n)) return Internal("cannot write " + path_);
    sum_.Update(std::string_view(data, n));
    progress_.Add(n);
    return Status::Ok();
  }
  std::string HexDigest() { return crypto::ToHex(sum_.Final()); }

 private:
  std::string path_;
  PrivateFile out_;
  ByteProgress& progress_;
  crypto::Sha256Stream sum_;
};

// Copies the file from into out.
Status CopyFileInto(const std::string& from, CountedCopy& out) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return Internal("cannot read " + from);
  std::vector<char> buf(std::size_t{1} << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    VAULT_RETURN_IF_ERROR(out.Write(buf.data(), static_cast<std::size_t>(in.gcount())));
  }
  return in.eof() ? Status::Ok() : Internal("cannot read " + from);
}

// Everything readable from fd into out; after a failure the rest is read and dropped, so the
// writer at the other end of the pipe never writes into a closed pipe.
Status DrainInto(int fd, CountedCopy& out) {
  Status s = Status::Ok();
  std::vector<char> buf(std::size_t{1} << 20);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal("cannot read the store copy");
    if (n == 0) return s;
    if (s.ok()) s = out.Write(buf.data(), static_cast<std::size_t>(n));
  }
}

// The store's compacted copy (LMDB writes it to a pipe on a thread of its own) into out.
Status CopyStoreInto(const Store& store, CountedCopy& out) {
  VAULT_RETURN_IF_ERROR(out.Opened());
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Internal("cannot create a pipe for the store copy");
  Status copied = Status::Ok();
  std::thread lmdb([&] {
    copied = store.CopyCompactTo(fds[1]);
    ::close(fds[1]);
  });
  Status drained = DrainInto(fds[0], out);
  lmdb.join();
  ::close(fds[0]);
  return copied.ok() ? drained : copied;
}

// The store (compacted) and the key slot file into out_dir, their sums into m. Slots freed
// while the copy runs stay whole until both files are copied (the store's snapshot may still
// reference them); they are zeroed right after.
Status CopyStoreAndSlots(Store& store, DekTable& deks, const std::string& data_dir,
                         const std::string& out_dir, const ProgressFn& progress,
                         BackupManifest* m) {
  std::error_code ec;
  const std::uint64_t slots_size = fs::file_size(layout::KeySlotsFile(data_dir), ec);
  ByteProgress bytes(progress, store.UsedBytes() + (ec ? 0 : slots_size));
  VAULT_RETURN_IF_ERROR(deks.PauseSlotZeroing(true));
  CountedCopy data(layout::BackupDataFile(out_dir), bytes);
  CountedCopy slots(layout::BackupKeySlotsFile(out_dir), bytes);
  Status copied = CopyStoreInto(store, data);
  if (copied.ok()) copied = slots.Opened();
  if (copied.ok()) copied = CopyFileInto(layout::KeySlotsFile(data_dir), slots);
  Status resumed = deks.PauseSlotZeroing(false);
  if (!resumed.ok() && copied.ok()) copied = resumed;
  VAULT_RETURN_IF_ERROR(deks.ZeroFreedSlotsNow());
  VAULT_RETURN_IF_ERROR(copied);
  bytes.Finish();
  m->sha256 = data.HexDigest();
  m->slots_sha256 = slots.HexDigest();
  return Status::Ok();
}

// Makes the copied files durable.
Status SyncCopy(const std::string& out_dir) {
  VAULT_RETURN_IF_ERROR(FsyncPath(layout::BackupDataFile(out_dir)));
  return FsyncPath(layout::BackupKeySlotsFile(out_dir));
}

Status WriteManifest(const std::string& out_dir, const BackupManifest& m) {
  const nlohmann::json j = {
      {"format", kFormat},
      {"created_at", FormatRfc3339(m.created_at)},
      {"epoch", m.epoch},
      {"epochs_needed", m.epochs_needed},
      {"readable_until", FormatRfc3339(m.readable_until)},
      {"unreadable_after", FormatRfc3339(m.unreadable_after)},
      {"policy_sha256", m.policy_sha256},
      {"file", fs::path(layout::BackupDataFile(out_dir)).filename().string()},
      {"sha256", m.sha256},
      {"slots_file", fs::path(layout::BackupKeySlotsFile(out_dir)).filename().string()},
      {"slots_sha256", m.slots_sha256}};
  const std::string manifest = layout::BackupManifestFile(out_dir);
  {
    const std::string text = j.dump(2) + "\n";
    PrivateFile out(manifest);
    VAULT_RETURN_IF_ERROR(out.Opened());
    if (!out.WriteAll(text.data(), text.size())) return Internal("cannot write " + manifest);
  }
  VAULT_RETURN_IF_ERROR(FsyncPath(manifest));
  return FsyncPath(out_dir);
}

}  // namespace

StatusOr<BackupManifest> Vault::Backup(const std::string& out_dir, const ProgressFn& progress) {
  if (!impl_->options.store.empty()) {
    return InvalidArgument(
        "lethe backup copies LMDB stores; back up a PostgreSQL store with its own tools");
  }
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
  m.epoch = impl_->keyring->current_epoch();
  m.policy_sha256 = impl_->policy.source_sha256;
  // The epochs whose KEKs may wrap DEKs in the copy: all live ones (a rotation may be
  // rewrapping while we copy). The copy is readable until the first of those dies.
  for (const auto& e : impl_->keyring->Epochs()) {
    if (e.destroyed) continue;
    m.epochs_needed.push_back(e.id);
    const UnixSeconds dies = impl_->schedule->KekDiesAt(e, m.created_at);
    if (m.readable_until == 0 || dies < m.readable_until) m.readable_until = dies;
    m.unreadable_after = std::max(m.unreadable_after, dies);
  }
  VAULT_RETURN_IF_ERROR(CopyStoreAndSlots(*impl_->store, *impl_->deks, impl_->options.data_dir,
                                          out_dir, progress, &m));
  VAULT_RETURN_IF_ERROR(SyncCopy(out_dir));
  VAULT_RETURN_IF_ERROR(WriteManifest(out_dir, m));
  // An admin action like any other (the CLI is the only caller): after the copy, so the entry
  // says the backup exists.
  VAULT_RETURN_IF_ERROR(impl_->store->Write([&](Txn& txn) {
    return impl_->audit->Append(txn, Actor{"cli", Role::kAdmin}, "backup.create", nullptr, "",
                                "ok");
  }));
  return m;
}

namespace {

// The backup's manifest, checked for shape, and its files checked against their sums.
StatusOr<nlohmann::json> ReadCheckedManifest(const std::string& from_dir) {
  const std::string manifest_path = layout::BackupManifestFile(from_dir);
  std::ifstream in(manifest_path);
  if (!in) return InvalidArgument("no manifest.json in " + from_dir + " (not a vault backup?)");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || j.value("format", "") != kFormat || !j.contains("sha256") ||
      !j["sha256"].is_string() || !j.contains("epochs_needed") || !j["epochs_needed"].is_array()) {
    return InvalidArgument(manifest_path + " is not a valid vault backup manifest");
  }
  const std::string data = layout::BackupDataFile(from_dir);
  auto digest = crypto::Sha256File(data);
  if (!digest) return InvalidArgument("cannot read " + data);
  if (crypto::ToHex(*digest) != j["sha256"].get<std::string>()) {
    return DataLoss("backup checksum mismatch: " + data + " is damaged or was modified");
  }
  const std::string slots = layout::BackupKeySlotsFile(from_dir);
  auto slots_digest = crypto::Sha256File(slots);
  if (!slots_digest || !j.contains("slots_sha256") || !j["slots_sha256"].is_string() ||
      crypto::ToHex(*slots_digest) != j["slots_sha256"].get<std::string>()) {
    return DataLoss("backup checksum mismatch: " + slots + " is missing, damaged or was modified");
  }
  return j;
}

// kGone, naming them, when epochs the backup needs are destroyed in the keyring.
Status CheckEpochsAlive(const nlohmann::json& j, const Keyring& keyring) {
  std::map<std::uint64_t, EpochInfo> known;
  for (const auto& e : keyring.Epochs()) known[e.id] = e;
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
  if (missing.empty()) return Status::Ok();
  return Status(Code::kGone,
                "this backup can no longer be read: the keys it needs were "
                "destroyed when the shred horizon passed:" +
                    missing);
}

// The backup's files and the live keyring into a new data directory, private and synced.
Status CopyIntoDataDir(const std::string& from_dir, const std::string& data_dir,
                       const std::string& keyring_file) {
  const std::string store_dir = layout::StoreDir(data_dir);
  const std::string files[3][2] = {
      {layout::BackupDataFile(from_dir), layout::StoreDataFile(data_dir)},
      {layout::BackupKeySlotsFile(from_dir), layout::KeySlotsFile(data_dir)},
      {keyring_file, layout::KeyringFile(data_dir)}};
  std::error_code ec;
  fs::create_directories(store_dir, ec);
  if (ec) return InvalidArgument("cannot create " + data_dir + ": " + ec.message());
  ::chmod(data_dir.c_str(), 0700);
  ::chmod(store_dir.c_str(), 0700);
  for (const auto& [from, to] : files) {
    if (from.empty()) continue;  // a token keyring: nothing to copy
    fs::copy_file(from, to, ec);
    if (ec) return Internal("restore copy failed: " + ec.message());
    ::chmod(to.c_str(), 0600);
  }
  for (const auto& [from, to] : files) {
    if (!from.empty()) VAULT_RETURN_IF_ERROR(FsyncPath(to));
  }
  return Status::Ok();
}

BackupManifest ManifestOf(const std::string& from_dir, const nlohmann::json& j) {
  BackupManifest m;
  m.path = from_dir;
  m.sha256 = j["sha256"].get<std::string>();
  m.epoch = j.value("epoch", std::uint64_t{0});
  for (const auto& ej : j["epochs_needed"]) m.epochs_needed.push_back(ej.get<std::uint64_t>());
  m.created_at = ParseRfc3339(j.value("created_at", "")).value_or(0);
  m.readable_until = ParseRfc3339(j.value("readable_until", "")).value_or(0);
  m.unreadable_after = ParseRfc3339(j.value("unreadable_after", "")).value_or(0);
  m.policy_sha256 = j.value("policy_sha256", "");
  return m;
}

}  // namespace

StatusOr<RestoreResult> Vault::Restore(const std::string& from_dir, const std::string& data_dir,
                                       const std::string& keyring_file,
                                       std::shared_ptr<RootKeyProvider> root_key,
                                       const ProgressFn& progress) {
  if (!root_key) return InvalidArgument("a root key is required to restore");
  if (!EmptyOrMissingDir(data_dir)) {
    return InvalidArgument("restore target " + data_dir +
                           " is not empty; restore into a new directory");
  }
  if (progress) progress(0, 3);
  VAULT_ASSIGN_OR_RETURN(nlohmann::json j, ReadCheckedManifest(from_dir));
  if (progress) progress(1, 3);
  VAULT_ASSIGN_OR_RETURN(auto root, SealerOf(*root_key));
  std::unique_ptr<Keyring> keyring;
  if (keyring_file.empty() && EpochTokenOf(*root_key)) {  // the token's epochs; no file
    TokenKeyring::Settings s;
    s.dek_cache_ttl = std::chrono::seconds(0);
    s.sessions = 1;
    s.make_first_epoch = false;
    VAULT_ASSIGN_OR_RETURN(
        keyring, TokenKeyring::Open(*EpochTokenOf(*root_key), std::move(root), std::nullopt, 0, s));
  } else {
    VAULT_ASSIGN_OR_RETURN(keyring, Keyring::Open(keyring_file, std::move(root)));
  }
  VAULT_RETURN_IF_ERROR(CheckEpochsAlive(j, *keyring));
  VAULT_RETURN_IF_ERROR(CopyIntoDataDir(from_dir, data_dir, keyring_file));
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
  r.manifest = ManifestOf(from_dir, j);
  return r;
}

}  // namespace vault
