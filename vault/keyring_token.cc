// The token keyring (keyring_token.h): epoch KEKs as PKCS#11 objects, the system keys in a
// store row sealed under the root key.
#include "vault/keyring_token.h"

#include <array>
#include <cstring>

#include "crypto/primitives.h"
#include "vault/codec.h"

namespace vault {
namespace {

namespace p11 = crypto::pkcs11;

constexpr std::uint8_t kWrapTag = 'T';  // envelope: 'T' | IV | ciphertext and GCM tag
constexpr std::size_t kWrappedBytes = 1 + p11::kGcmIvBytes + crypto::kKeyBytes + p11::kGcmTagBytes;
constexpr std::size_t kKekIdBytes = 16;
constexpr std::uint64_t kMaxDestroyedKept = 2000;  // destroyed epochs remembered, for messages

Status TokenError(const p11::Result& r, const std::string& what) {
  const Code code = r.pin_refused() ? Code::kPermissionDenied : Code::kUnavailable;
  return Status(code, what + ": " + r.message());
}

std::vector<std::uint8_t> RowAad() {
  RowWriter w;
  w.Str("lethe-keyring-row").U64(1);
  return w.Take();
}

// "3.1795381680" or "3.1795381680.1795400000" (after the prefix): id, created, retired.
bool ParseLabel(std::string_view rest, EpochInfo* e) {
  std::uint64_t v[3] = {0, 0, 0};
  int n = 0;
  std::size_t start = 0;
  while (n < 3 && start <= rest.size()) {
    std::size_t end = rest.find('.', start);
    if (end == std::string_view::npos) end = rest.size();
    if (end == start) return false;
    for (std::size_t i = start; i < end; ++i) {
      if (rest[i] < '0' || rest[i] > '9' || v[n] > (UINT64_MAX - 9) / 10) return false;
      v[n] = v[n] * 10 + static_cast<std::uint64_t>(rest[i] - '0');
    }
    ++n;
    start = end + 1;
    if (end == rest.size()) break;
  }
  if (n < 2 || start < rest.size() || v[0] == 0) return false;
  *e = EpochInfo{v[0], static_cast<UnixSeconds>(v[1]), static_cast<UnixSeconds>(v[2]), false, 0};
  return true;
}

}  // namespace

TokenKeyring::TokenKeyring(EpochToken token, std::shared_ptr<const RootSealer> sealer,
                           std::vector<std::shared_ptr<p11::Session>> sessions, Settings settings)
    : Keyring("the store's keyring row", std::move(sealer)),
      token_(std::move(token)),
      sessions_(std::move(sessions)),
      cache_(settings.dek_cache_ttl, settings.dek_cache_entries) {}

StatusOr<std::unique_ptr<TokenKeyring>> TokenKeyring::Open(
    EpochToken token, std::shared_ptr<const RootSealer> sealer,
    const std::optional<std::string>& sealed_row, UnixSeconds now, Settings settings) {
  std::vector<std::shared_ptr<p11::Session>> sessions;
  for (std::size_t i = 0; i < std::max<std::size_t>(settings.sessions, 1); ++i) {
    VAULT_ASSIGN_OR_RETURN(auto s, token.open());
    sessions.push_back(std::move(s));
  }
  std::unique_ptr<TokenKeyring> k(
      new TokenKeyring(std::move(token), sealer, std::move(sessions), settings));
  if (sealed_row) {
    VAULT_RETURN_IF_ERROR(k->OpenRow(*sealer, *sealed_row));
  } else {
    k->GenerateSystemKeys();
  }
  WriterLock lock(k->mu_);
  VAULT_RETURN_IF_ERROR(k->ReadTokenLocked(!sealed_row && settings.make_first_epoch, now));
  return k;
}

p11::Session& TokenKeyring::Next() const {
  return *sessions_[next_session_.fetch_add(1, std::memory_order_relaxed) % sessions_.size()];
}

std::string TokenKeyring::Label(const EpochInfo& e) const {
  std::string l = token_.prefix + std::to_string(e.id) + "." + std::to_string(e.created_at);
  if (e.retired_at != 0) l += "." + std::to_string(e.retired_at);
  return l;
}

// The epochs are the token's objects labelled with this vault's prefix: the highest id is
// current; an older one not marked retired (a crash between making the next epoch and
// relabelling it) retired when the next one began; ids below the highest with no object
// were destroyed. create: make the first epoch when there is none.
Status TokenKeyring::ReadTokenLocked(bool create, UnixSeconds now) {
  std::vector<p11::KeyObject> objects;
  if (auto r = Next().ListKeys(token_.prefix, &objects); !r.ok()) {
    return TokenError(r, "cannot list the epoch keys in token " + token_.token);
  }
  std::map<std::uint64_t, EpochInfo> live;
  std::map<std::uint64_t, p11::Handle> handles;
  for (const p11::KeyObject& o : objects) {
    EpochInfo e;
    if (!ParseLabel(std::string_view(o.label).substr(token_.prefix.size()), &e)) continue;
    if (!handles.emplace(e.id, o.handle).second) {
      return Conflict("token " + token_.token + " holds two keys for epoch " +
                      std::to_string(e.id));
    }
    live[e.id] = e;
  }
  if (live.empty()) {
    if (!create) {
      return DataLoss("token " + token_.token + " holds no epoch key labelled " + token_.prefix +
                      "* (every epoch of this store was destroyed, or this is another token)");
    }
    const EpochInfo first{1, now, 0, false, 0};
    const auto id = crypto::RandomArray<kKekIdBytes>();
    p11::Handle h = 0;
    if (auto r = Next().GenerateAesKey(Label(first), id, &h); !r.ok()) {
      return TokenError(r, "cannot make the first epoch key in token " + token_.token);
    }
    live[1] = first;
    handles[1] = h;
  }
  const std::uint64_t max = live.rbegin()->first;
  live[max].retired_at = 0;
  for (auto it = live.begin(); it != live.end(); ++it) {
    auto next = std::next(it);
    if (next != live.end() && it->second.retired_at == 0)
      it->second.retired_at = next->second.created_at;
  }
  std::map<std::uint64_t, EpochInfo> all = live;
  for (std::uint64_t id = max > kMaxDestroyedKept ? max - kMaxDestroyedKept : 1; id < max; ++id) {
    if (live.count(id) != 0) continue;
    auto before = epochs_.find(id);
    all[id] = before != epochs_.end() && before->second.destroyed ? before->second
                                                                  : EpochInfo{id, 0, 0, true, 0};
  }
  for (const auto& [id, h] : handles_) {
    if (handles.count(id) == 0) cache_.DropEpoch(id);
  }
  epochs_ = std::move(all);
  handles_ = std::move(handles);
  current_ = max;
  seq_ = (max << 32) | (max - handles_.size());
  return Status::Ok();
}

Status TokenKeyring::Reload() {
  WriterLock lock(mu_);
  return ReadTokenLocked(false, 0);
}

std::uint64_t TokenKeyring::seq() const {
  ReaderLock lock(mu_);
  return seq_;
}

std::uint64_t TokenKeyring::current_epoch() const {
  ReaderLock lock(mu_);
  return current_;
}

std::vector<EpochInfo> TokenKeyring::Epochs() const {
  ReaderLock lock(mu_);
  std::vector<EpochInfo> out;
  for (const auto& [id, e] : epochs_) out.push_back(e);
  return out;
}

std::map<std::uint64_t, p11::Handle> TokenKeyring::LiveKekHandles() const {
  ReaderLock lock(mu_);
  return handles_;
}

// The lock is held across the token call so that this process's DestroyEpochs (a writer)
// cannot run between a decryption and the cache entry it makes.
std::vector<std::uint8_t> TokenKeyring::WrapDek(const crypto::SecretBytes& dek,
                                                const crypto::KeyId& /*key_id*/,
                                                std::uint64_t* epoch) const {
  ReaderLock lock(mu_);
  auto h = handles_.find(current_);
  if (h == handles_.end()) return {};
  std::array<std::uint8_t, p11::kGcmIvBytes> iv{};
  crypto::RandomFill(iv);
  std::vector<std::uint8_t> sealed;
  if (!Next()
           .EncryptGcm(h->second, iv, DekWrapContext(current_), dek.secret_span(), &sealed)
           .ok()) {
    return {};
  }
  std::vector<std::uint8_t> env;
  env.reserve(kWrappedBytes);
  env.push_back(kWrapTag);
  env.insert(env.end(), iv.begin(), iv.end());
  env.insert(env.end(), sealed.begin(), sealed.end());
  *epoch = current_;
  cache_.Put(current_, env, dek);
  return env;
}

// Each use goes to the token with the epoch's handle: the token checks on every operation
// that the object still exists, so a KEK another server destroyed fails here at once
// (CKR_OBJECT_HANDLE_INVALID), with no separate existence check. Only the DEK cache can
// answer without the token, for at most its TTL.
Status TokenKeyring::UnwrapDek(std::span<const std::uint8_t> wrapped, std::uint64_t epoch,
                               crypto::SecretBytes* dek) const {
  if (wrapped.size() != kWrappedBytes || wrapped[0] != kWrapTag) {
    return DataLoss("a wrapped data key is not a token envelope");
  }
  ReaderLock lock(mu_);
  auto h = handles_.find(epoch);
  if (h == handles_.end()) {
    auto e = epochs_.find(epoch);
    if (e != epochs_.end() && e->second.destroyed) {
      return DataLoss("key wrapped under destroyed epoch " + std::to_string(epoch));
    }
    return Status(Code::kUnavailable, "unknown epoch " + std::to_string(epoch));
  }
  if (cache_.Get(epoch, wrapped, dek)) return Status::Ok();
  const auto iv = wrapped.subspan(1, p11::kGcmIvBytes);
  const auto sealed = wrapped.subspan(1 + p11::kGcmIvBytes);
  const p11::Result r = Next().DecryptGcm(h->second, iv, DekWrapContext(epoch), sealed, dek);
  if (r.key_gone()) {
    return DataLoss("key wrapped under epoch " + std::to_string(epoch) +
                    ", whose key the token no longer holds (destroyed)");
  }
  if (r.not_authentic() || (r.ok() && dek->size() != crypto::kKeyBytes)) {
    return DataLoss("a wrapped data key failed authentication");
  }
  if (!r.ok()) return TokenError(r, "cannot unwrap a data key in token " + token_.token);
  cache_.Put(epoch, wrapped, *dek);
  return Status::Ok();
}

// Reads the token first (another server may have started an epoch), makes the next epoch's
// object, then marks the old one retired in its label. A crash between the two leaves the
// old one unmarked; ReadTokenLocked takes it as retired when the next began.
StatusOr<std::uint64_t> TokenKeyring::StartEpoch(UnixSeconds now) {
  WriterLock lock(mu_);
  VAULT_RETURN_IF_ERROR(ReadTokenLocked(false, now));
  const std::uint64_t old = current_;
  const EpochInfo next{old + 1, now, 0, false, 0};
  const auto id = crypto::RandomArray<kKekIdBytes>();
  p11::Handle h = 0;
  if (auto r = Next().GenerateAesKey(Label(next), id, &h); !r.ok()) {
    return TokenError(r, "cannot make the key of epoch " + std::to_string(next.id));
  }
  EpochInfo retired = epochs_[old];
  retired.retired_at = now;
  if (auto r = Next().SetLabel(handles_.at(old), Label(retired)); !r.ok()) {
    return TokenError(r, "cannot mark epoch " + std::to_string(old) + " retired");
  }
  epochs_[old] = retired;
  epochs_[next.id] = next;
  handles_[next.id] = h;
  current_ = next.id;
  seq_ = (current_ << 32) | (current_ - handles_.size());
  return current_;
}

// C_DestroyObject of each epoch's object, found afresh in the token (a handle is never
// trusted across a reload for a destruction); one another server destroyed counts as done.
Status TokenKeyring::DestroyEpochs(const std::vector<std::uint64_t>& ids, UnixSeconds now) {
  WriterLock lock(mu_);
  VAULT_RETURN_IF_ERROR(ReadTokenLocked(false, now));
  for (auto id : ids) {
    if (id == current_) return Internal("refusing to destroy the current epoch");
  }
  for (auto id : ids) {
    auto h = handles_.find(id);
    if (h == handles_.end()) continue;
    if (auto r = Next().Destroy(h->second); !r.ok() && !r.key_gone()) {
      return TokenError(r, "cannot destroy the key of epoch " + std::to_string(id));
    }
    handles_.erase(h);
    cache_.DropEpoch(id);
    epochs_[id].destroyed = true;
    epochs_[id].destroyed_at = now;
  }
  seq_ = (current_ << 32) | (current_ - handles_.size());
  return Status::Ok();
}

Status TokenKeyring::Reseal(std::shared_ptr<const RootSealer> /*next*/,
                            const std::function<void()>& /*between_slots*/) {
  return Conflict("a token keyring is resealed through its store row (RotateRootKey)");
}

StatusOr<std::string> TokenKeyring::SealedRow(const RootSealer& sealer) const {
  const crypto::SecretBytes* keys[] = {&index_key(), &audit_key(), &meta_key(), &signing_key()};
  std::size_t size = 8;
  for (const auto* k : keys) size += 8 + k->size();
  crypto::SecretBytes plain(size);
  std::uint8_t* p = plain.mutable_secret_data();
  std::size_t off = 0;
  auto u64 = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[off++] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  u64(1);  // format
  for (const auto* k : keys) {
    u64(k->size());
    std::memcpy(p + off, k->secret_data(), k->size());
    off += k->size();
  }
  VAULT_ASSIGN_OR_RETURN(auto env, sealer.Seal(plain.secret_span(), RowAad()));
  return std::string(env.begin(), env.end());
}

Status TokenKeyring::OpenRow(const RootSealer& sealer, std::string_view sealed_row) {
  crypto::SecretBytes plain;
  Status s = sealer.Open(crypto::AsBytes(sealed_row), RowAad(), &plain);
  if (s.code() == Code::kPermissionDenied) {
    return Status(Code::kPermissionDenied,
                  "the store's keyring row is sealed under another root key; start with the "
                  "root key it was created with");
  }
  if (!s.ok()) return Status(s.code(), "the store's keyring row: " + s.message());
  RowReader r(plain.secret_span());
  std::uint64_t format = 0;
  std::span<const std::uint8_t> ik, ak, mk, sk;
  if (!r.U64(&format) || format != 1 || !r.View(&ik) || !r.View(&ak) || !r.View(&mk) ||
      !r.View(&sk)) {
    return DataLoss("the store's keyring row has an unreadable layout");
  }
  return SetSystemKeys(ik, ak, mk, sk);
}

StatusOr<std::string> TokenKeyring::ResealRow(const RootSealer& from, const RootSealer& to,
                                              std::string_view sealed_row) {
  crypto::SecretBytes plain;
  VAULT_RETURN_IF_ERROR(from.Open(crypto::AsBytes(sealed_row), RowAad(), &plain));
  VAULT_ASSIGN_OR_RETURN(auto env, to.Seal(plain.secret_span(), RowAad()));
  return std::string(env.begin(), env.end());
}

}  // namespace vault
