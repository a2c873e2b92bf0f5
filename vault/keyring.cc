// Keyring file: header + two fixed-size slots rewritten in place, newest valid slot wins.
#include "vault/keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "crypto/primitives.h"
#include "vault/codec.h"
#include "vault/keyring_format.h"

namespace vault {
namespace {

using keyring_file::kFileBytes;
using keyring_file::kHeaderBytes;
using keyring_file::kMagic;
using keyring_file::kSlotBytes;
using keyring_file::SlotContext;
constexpr std::size_t kMaxDestroyedKept = 2000;  // destroyed epochs remembered, for messages

bool PreadAll(int fd, void* buf, std::size_t n, off_t off) {
  auto* p = static_cast<std::uint8_t*>(buf);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, off);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
    off += r;
  }
  return true;
}

bool PwriteAll(int fd, const void* buf, std::size_t n, off_t off) {
  const auto* p = static_cast<const std::uint8_t*>(buf);
  while (n > 0) {
    const ssize_t r = ::pwrite(fd, p, n, off);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
    off += r;
  }
  return true;
}

}  // namespace

Keyring::Keyring(std::string path, std::shared_ptr<const RootSealer> sealer)
    : path_(std::move(path)), sealer_(std::move(sealer)) {}

std::vector<std::uint8_t> Keyring::DekWrapContext(std::uint64_t epoch) {
  RowWriter w;
  w.Str("dek").U64(epoch);
  return w.Take();
}

StatusOr<std::unique_ptr<Keyring>> Keyring::Create(const std::string& path,
                                                   crypto::SecretBytes root_key, UnixSeconds now) {
  if (root_key.size() != crypto::kKeyBytes) return InvalidArgument("root key must be 256 bits");
  return Create(path, RawRootSealer(std::move(root_key)), now);
}

StatusOr<std::unique_ptr<Keyring>> Keyring::Open(const std::string& path,
                                                 crypto::SecretBytes root_key) {
  if (root_key.size() != crypto::kKeyBytes) return InvalidArgument("root key must be 256 bits");
  return Open(path, RawRootSealer(std::move(root_key)));
}

StatusOr<std::unique_ptr<Keyring>> Keyring::Create(const std::string& path,
                                                   std::shared_ptr<const RootSealer> sealer,
                                                   UnixSeconds now) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Conflict("cannot create keyring " + path + ": " + std::strerror(errno));
  std::vector<std::uint8_t> zeros(kFileBytes, 0);
  std::memcpy(zeros.data(), kMagic, sizeof kMagic);
  const bool ok = PwriteAll(fd, zeros.data(), zeros.size(), 0) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Internal("cannot write keyring " + path);

  std::unique_ptr<Keyring> k(new Keyring(path, std::move(sealer)));
  k->GenerateSystemKeys();
  WriterLock lock(k->mu_);
  k->current_ = 1;
  k->next_epoch_ = 2;
  k->epochs_[1] = EpochInfo{1, now, 0, false, 0};
  k->keks_.emplace(1, crypto::SecretBytes::Random(crypto::kKeyBytes));
  VAULT_RETURN_IF_ERROR(k->WriteLocked());
  return k;
}

StatusOr<std::unique_ptr<Keyring>> Keyring::Open(const std::string& path,
                                                 std::shared_ptr<const RootSealer> sealer) {
  std::unique_ptr<Keyring> k(new Keyring(path, std::move(sealer)));
  WriterLock lock(k->mu_);
  VAULT_RETURN_IF_ERROR(k->ReadFile());
  return k;
}

Status Keyring::Reload() {
  WriterLock lock(mu_);
  return ReadFile();
}

Status Keyring::ReadFile() {
  std::uint64_t seq = 0;
  crypto::SecretBytes plain;
  VAULT_RETURN_IF_ERROR(ReadNewestSlot(&seq, &plain));
  if (seq == seq_) return Status::Ok();
  return Adopt(seq, plain);
}

// The plaintext of the newest slot that opens under the root key.
Status Keyring::ReadNewestSlot(std::uint64_t* best_seq, crypto::SecretBytes* best) const {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(Code::kNotFound, "cannot open keyring " + path_ + ": " + std::strerror(errno));
  }
  std::vector<std::uint8_t> file(kFileBytes);
  const bool read_ok = PreadAll(fd, file.data(), file.size(), 0);
  ::close(fd);
  if (!read_ok || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0) {
    return DataLoss("keyring " + path_ + " is not a Vault keyring file (or is truncated)");
  }
  bool other_root = false;
  *best_seq = 0;
  for (std::size_t slot = 0; slot < 2; ++slot) {
    RowReader r(
        std::span<const std::uint8_t>(file).subspan(kHeaderBytes + slot * kSlotBytes, kSlotBytes));
    std::uint64_t seq = 0;
    std::span<const std::uint8_t> env;
    if (!r.U64(&seq) || seq == 0 || !r.View(&env) || seq <= *best_seq) continue;
    crypto::SecretBytes plain;
    Status s = sealer_->Open(env, SlotContext(seq), &plain);
    if (s.code() == Code::kUnavailable) return s;  // the token cannot be used: not a bad file
    other_root = other_root || s.code() == Code::kPermissionDenied;
    if (s.ok()) {
      *best_seq = seq;
      *best = std::move(plain);
    }
  }
  if (*best_seq != 0) return Status::Ok();
  if (other_root) {
    return Status(Code::kPermissionDenied,
                  "keyring " + path_ +
                      " is sealed under another root key; start with the root "
                      "key it was created with");
  }
  return DataLoss("keyring " + path_ + " has no intact slot (corrupted or tampered)");
}

namespace {

// The n epoch entries of a keyring plaintext (keyring_format.h).
bool ReadEpochs(RowReader& r, std::uint64_t n, std::map<std::uint64_t, EpochInfo>* epochs,
                std::map<std::uint64_t, crypto::SecretBytes>* keks) {
  for (std::uint64_t i = 0; i < n; ++i) {
    EpochInfo e;
    std::uint8_t destroyed = 0;
    std::span<const std::uint8_t> kek;
    if (!r.U64(&e.id) || !r.I64(&e.created_at) || !r.I64(&e.retired_at) || !r.U8(&destroyed) ||
        !r.I64(&e.destroyed_at) || !r.View(&kek)) {
      return false;
    }
    e.destroyed = destroyed != 0;
    if (!e.destroyed) {
      if (kek.size() != crypto::kKeyBytes) return false;
      keks->emplace(e.id, crypto::SecretBytes::ImportCleartext(kek));
    }
    (*epochs)[e.id] = e;
  }
  return true;
}

}  // namespace

// Makes the state in a slot's plaintext this keyring's.
Status Keyring::Adopt(std::uint64_t seq, const crypto::SecretBytes& plain) {
  RowReader r(plain.secret_span());
  std::uint64_t format = 0, current = 0, next = 0, n = 0;
  std::span<const std::uint8_t> ik, ak, mk, sk;
  if (!r.U64(&format) || format != 1 || !r.U64(&current) || !r.U64(&next) || !r.View(&ik) ||
      !r.View(&ak) || !r.View(&mk) || !r.View(&sk) || !r.U64(&n)) {
    return DataLoss("keyring " + path_ + " has an unreadable layout");
  }
  std::map<std::uint64_t, EpochInfo> epochs;
  std::map<std::uint64_t, crypto::SecretBytes> keks;
  if (!ReadEpochs(r, n, &epochs, &keks)) {
    return DataLoss("keyring " + path_ + " has an unreadable epoch entry");
  }
  if (!keks.count(current)) return DataLoss("keyring " + path_ + " lacks its current epoch key");
  VAULT_RETURN_IF_ERROR(AdoptSystemKeys(ik, ak, mk, sk));
  seq_ = seq;
  current_ = current;
  next_epoch_ = next;
  epochs_ = std::move(epochs);
  keks_ = std::move(keks);
  return Status::Ok();
}

void Keyring::GenerateSystemKeys() {
  WriterLock lock(mu_);
  index_key_ = crypto::SecretBytes::Random(crypto::kKeyBytes);
  audit_key_ = crypto::SecretBytes::Random(crypto::kKeyBytes);
  meta_key_ = crypto::SecretBytes::Random(crypto::kKeyBytes);
  signing_key_ = crypto::GenerateSigningKey().secret;
  index_mac_ = crypto::HmacSha256Key(index_key_);
  audit_mac_ = crypto::HmacSha256Key(audit_key_);
}

Status Keyring::SetSystemKeys(std::span<const std::uint8_t> ik, std::span<const std::uint8_t> ak,
                              std::span<const std::uint8_t> mk, std::span<const std::uint8_t> sk) {
  WriterLock lock(mu_);
  return AdoptSystemKeys(ik, ak, mk, sk);
}

Status Keyring::AdoptSystemKeys(std::span<const std::uint8_t> ik, std::span<const std::uint8_t> ak,
                                std::span<const std::uint8_t> mk,
                                std::span<const std::uint8_t> sk) {
  // The engine uses these as HMAC, AEAD and Ed25519 keys without checking their sizes again.
  if (ik.size() != crypto::kKeyBytes || ak.size() != crypto::kKeyBytes ||
      mk.size() != crypto::kKeyBytes || sk.size() != crypto::kSigningSecretBytes) {
    return DataLoss("keyring " + path_ + " has a system key of the wrong size");
  }
  if (index_key_.empty()) {
    index_key_ = crypto::SecretBytes::ImportCleartext(ik);
    audit_key_ = crypto::SecretBytes::ImportCleartext(ak);
    meta_key_ = crypto::SecretBytes::ImportCleartext(mk);
    signing_key_ = crypto::SecretBytes::ImportCleartext(sk);
    index_mac_ = crypto::HmacSha256Key(index_key_);
    audit_mac_ = crypto::HmacSha256Key(audit_key_);
    return Status::Ok();
  }
  if (!crypto::ConstantTimeEquals(index_key_.secret_span(), ik) ||
      !crypto::ConstantTimeEquals(audit_key_.secret_span(), ak) ||
      !crypto::ConstantTimeEquals(meta_key_.secret_span(), mk) ||
      !crypto::ConstantTimeEquals(signing_key_.secret_span(), sk)) {
    // Other threads use the system keys without the lock: they are never replaced.
    return DataLoss("keyring " + path_ + " now holds other system keys than when it was opened");
  }
  return Status::Ok();
}

// The keyring's state as a slot plaintext (keyring_format.h), in locked memory: it holds
// every key. *len: the bytes used.
crypto::SecretBytes Keyring::Serialize(std::size_t* len) const {
  std::size_t size = 8 * 4 + 4 * 8 + index_key_.size() + audit_key_.size() + meta_key_.size() +
                     signing_key_.size();
  for (const auto& [id, e] : epochs_) size += 8 * 4 + 1 + 8 + (e.destroyed ? 0 : crypto::kKeyBytes);
  crypto::SecretBytes plain(size);
  std::uint8_t* p = plain.mutable_secret_data();
  std::size_t off = 0;
  auto u64 = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[off++] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  auto bytes = [&](std::span<const std::uint8_t> b) {
    u64(b.size());
    if (!b.empty()) std::memcpy(p + off, b.data(), b.size());
    off += b.size();
  };
  u64(1);
  u64(current_);
  u64(next_epoch_);
  bytes(index_key_.secret_span());
  bytes(audit_key_.secret_span());
  bytes(meta_key_.secret_span());
  bytes(signing_key_.secret_span());
  u64(epochs_.size());
  for (const auto& [id, e] : epochs_) {
    u64(e.id);
    u64(static_cast<std::uint64_t>(e.created_at));
    u64(static_cast<std::uint64_t>(e.retired_at));
    p[off++] = e.destroyed ? 1 : 0;
    u64(static_cast<std::uint64_t>(e.destroyed_at));
    if (e.destroyed) {
      bytes({});
    } else {
      bytes(keks_.at(id).secret_span());
    }
  }
  *len = off;
  return plain;
}

// Seals the state under sealer into both slots. The file must still open under this keyring's
// own sealer: a process that kept an old root key after `lethe root rotate` must not seal the
// keyring back under it.
Status Keyring::WriteWith(const RootSealer& sealer, const std::function<void()>& between_slots) {
  if (seq_ != 0) {  // not a keyring being created
    std::uint64_t on_disk = 0;
    crypto::SecretBytes ignored;
    if (Status s = ReadNewestSlot(&on_disk, &ignored); !s.ok()) {
      return Status(s.code(), s.message() + " (not written: restart with the current root key)");
    }
  }
  std::size_t len = 0;
  const crypto::SecretBytes plain = Serialize(&len);
  const std::uint64_t seq = seq_ + 1;
  VAULT_ASSIGN_OR_RETURN(std::vector<std::uint8_t> env,
                         sealer.Seal(plain.secret_span().first(len), SlotContext(seq)));
  RowWriter w;
  w.U64(seq).Bytes(env);
  std::vector<std::uint8_t> slot = w.Take();
  if (slot.size() > kSlotBytes) {
    return Internal(
        "keyring is full: too many epochs are alive (shorten keys.horizon or "
        "lengthen keys.epoch)");
  }
  slot.resize(kSlotBytes, 0);

  const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Internal("cannot open keyring " + path_ + " for writing");
  // Write the slot that does not hold the newest state first, sync, then overwrite the other
  // one too: after both syncs no slot holds a destroyed key, and a crash between them leaves
  // one intact slot (the newer one or the older one) to start from.
  const int first = static_cast<int>(seq % 2);
  bool ok = PwriteAll(fd, slot.data(), slot.size(), kHeaderBytes + first * kSlotBytes) &&
            ::fdatasync(fd) == 0;
  if (ok && between_slots) between_slots();
  ok = ok && PwriteAll(fd, slot.data(), slot.size(), kHeaderBytes + (1 - first) * kSlotBytes) &&
       ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok) return Internal("cannot write keyring " + path_ + ": " + std::strerror(errno));
  seq_ = seq;
  return Status::Ok();
}

std::uint64_t Keyring::seq() const {
  ReaderLock lock(mu_);
  return seq_;
}

std::uint64_t Keyring::current_epoch() const {
  ReaderLock lock(mu_);
  return current_;
}

std::vector<EpochInfo> Keyring::Epochs() const {
  ReaderLock lock(mu_);
  std::vector<EpochInfo> out;
  for (const auto& [id, e] : epochs_) out.push_back(e);
  return out;
}

std::vector<std::uint8_t> Keyring::WrapDek(const crypto::SecretBytes& dek,
                                           const crypto::KeyId& key_id,
                                           std::uint64_t* epoch) const {
  ReaderLock lock(mu_);
  *epoch = current_;
  return crypto::Seal(crypto::EnvelopeKind::kWrappedKey, crypto::Aead::kXChaCha20Poly1305,
                      keks_.at(current_), key_id, dek.secret_span(), DekWrapContext(current_));
}

Status Keyring::UnwrapDek(std::span<const std::uint8_t> wrapped, std::uint64_t epoch,
                          crypto::SecretBytes* dek) const {
  ReaderLock lock(mu_);
  auto it = keks_.find(epoch);
  if (it == keks_.end()) {
    auto e = epochs_.find(epoch);
    if (e != epochs_.end() && e->second.destroyed) {
      return DataLoss("key wrapped under destroyed epoch " + std::to_string(epoch));
    }
    return Status(Code::kUnavailable, "unknown epoch " + std::to_string(epoch));
  }
  if (!crypto::OpenSecret(crypto::EnvelopeKind::kWrappedKey, it->second, wrapped,
                          DekWrapContext(epoch), dek) ||
      dek->size() != crypto::kKeyBytes) {
    return DataLoss("a wrapped data key failed authentication");
  }
  return Status::Ok();
}

StatusOr<std::uint64_t> Keyring::StartEpoch(UnixSeconds now) {
  WriterLock lock(mu_);
  const std::uint64_t id = next_epoch_;
  const std::uint64_t old = current_;
  epochs_[old].retired_at = now;
  epochs_[id] = EpochInfo{id, now, 0, false, 0};
  keks_.emplace(id, crypto::SecretBytes::Random(crypto::kKeyBytes));
  current_ = id;
  next_epoch_ = id + 1;
  Status s = WriteLocked();
  if (!s.ok()) {  // roll back the in-memory state so it matches the file
    keks_.erase(id);
    epochs_.erase(id);
    epochs_[old].retired_at = 0;
    current_ = old;
    next_epoch_ = id;
    return s;
  }
  return id;
}

Status Keyring::DestroyEpochs(const std::vector<std::uint64_t>& ids, UnixSeconds now) {
  WriterLock lock(mu_);
  for (auto id : ids) {
    if (id == current_) return Internal("refusing to destroy the current epoch");
  }
  std::map<std::uint64_t, crypto::SecretBytes> removed;
  for (auto id : ids) {
    auto it = keks_.find(id);
    if (it == keks_.end()) continue;
    removed.emplace(id, std::move(it->second));
    keks_.erase(it);
    epochs_[id].destroyed = true;
    epochs_[id].destroyed_at = now;
  }
  // Forget the oldest destroyed epochs beyond what is worth remembering.
  std::size_t destroyed = 0;
  for (const auto& [id, e] : epochs_) destroyed += e.destroyed ? 1 : 0;
  for (auto it = epochs_.begin(); destroyed > kMaxDestroyedKept && it != epochs_.end();) {
    if (it->second.destroyed) {
      it = epochs_.erase(it);
      --destroyed;
    } else {
      ++it;
    }
  }
  Status s = WriteLocked();
  if (!s.ok()) {
    for (auto& [id, k] : removed) {
      keks_.emplace(id, std::move(k));
      epochs_[id].destroyed = false;
      epochs_[id].destroyed_at = 0;
    }
  }
  return s;
}

Status Keyring::Reseal(std::shared_ptr<const RootSealer> next,
                       const std::function<void()>& between_slots) {
  WriterLock lock(mu_);
  VAULT_RETURN_IF_ERROR(ReadFile());
  VAULT_RETURN_IF_ERROR(WriteWith(*next, between_slots));
  sealer_ = std::move(next);
  return Status::Ok();
}

}  // namespace vault
