// Fuzz target: the keyring file parser (Keyring::Open) under a fixed root key.
//
// The input is expanded into a full-size keyring file (see keyring_format.h) in a scratch
// directory on tmpfs; a keyring that opens must then work: wrap/unwrap round-trips under
// its current epoch, its system keys have the sizes the engine relies on, and (flag bit 4)
// a rotation writes a file that opens again.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "fuzz/keyring_format.h"
#include "vault/keyring.h"

namespace {

namespace kf = vault::fuzz::keyring_format;

bool WriteAt(int fd, std::span<const std::uint8_t> bytes, off_t off) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(fd, bytes.data() + done, bytes.size() - done, off + static_cast<off_t>(done));
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace crypto = vault::crypto;
  static const crypto::SecretBytes root = vault::fuzz::FixedKey(0x40);
  static const std::string path = vault::fuzz::ScratchDir("keyring") + "/keyring";

  vault::fuzz::ByteCursor in(data, size);
  const std::uint8_t flags = in.U8();
  const auto header = in.Take(kf::kMagicBytes);
  const std::size_t len0 = in.U16();
  const auto slot0_in = in.Take(len0);
  const auto slot1 = in.Take(kf::kSlotBytes);

  std::vector<std::uint8_t> sealed;
  std::span<const std::uint8_t> slot0 = slot0_in;
  if ((flags & kf::kSealPlaintext) != 0) {
    sealed = kf::SealSlot(root, 1 + ((flags >> 2) & 3), slot0_in);
    if (sealed.size() > kf::kSlotBytes) return 0;
    slot0 = sealed;
  }
  if (slot0.size() > kf::kSlotBytes) slot0 = slot0.first(kf::kSlotBytes);

  ::unlink(path.c_str());
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) vault::fuzz::Fail("cannot create the scratch keyring file");
  const std::size_t length = (flags & kf::kTruncate) != 0
                                 ? kf::kHeaderBytes + kf::kSlotBytes + slot1.size()
                                 : kf::kFileBytes;
  const bool written = ::ftruncate(fd, static_cast<off_t>(length)) == 0 && WriteAt(fd, header, 0) &&
                       WriteAt(fd, slot0, kf::kHeaderBytes) &&
                       WriteAt(fd, slot1, kf::kHeaderBytes + kf::kSlotBytes);
  ::close(fd);
  if (!written) vault::fuzz::Fail("cannot write the scratch keyring file");

  auto opened = vault::Keyring::Open(path, root.Clone());
  if (!opened.ok()) return 0;
  vault::Keyring& k = **opened;

  // System keys: the engine uses them as HMAC, AEAD and Ed25519 keys without re-checking.
  VAULT_FUZZ_CHECK(k.index_key().size() == crypto::kKeyBytes);
  VAULT_FUZZ_CHECK(k.audit_key().size() == crypto::kKeyBytes);
  VAULT_FUZZ_CHECK(k.meta_key().size() == crypto::kKeyBytes);
  VAULT_FUZZ_CHECK(k.signing_key().size() == crypto::kSigningSecretBytes);

  const crypto::SecretBytes dek = vault::fuzz::FixedKey(0x77);
  const crypto::KeyId key_id{};
  std::uint64_t epoch = 0;
  const auto wrapped = k.WrapDek(dek, key_id, &epoch);
  VAULT_FUZZ_CHECK(epoch == k.current_epoch());
  crypto::SecretBytes unwrapped;
  VAULT_FUZZ_CHECK(k.UnwrapDek(wrapped, epoch, &unwrapped).ok() && unwrapped.Equals(dek));
  for (const vault::EpochInfo& e : k.Epochs()) {
    crypto::SecretBytes out;
    (void)k.UnwrapDek(slot1, e.id, &out);  // junk must be refused, not crash
  }

  if ((flags & kf::kRotate) == 0) return 0;  // rewriting the file is slow: only when asked
  auto rotated = k.StartEpoch(2000000000);
  if (rotated.ok()) {
    auto again = vault::Keyring::Open(path, root.Clone());
    VAULT_FUZZ_CHECK(again.ok());
    VAULT_FUZZ_CHECK((*again)->current_epoch() == *rotated);
    VAULT_FUZZ_CHECK((*again)->UnwrapDek(wrapped, epoch, &unwrapped).ok());
  }
  return 0;
}
