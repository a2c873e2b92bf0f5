// SecretBytes over libsodium's guarded allocator.
#include "crypto/secret.h"

#include <sodium.h>

#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace vault::crypto {
namespace {

// Small secrets (every 256-bit key, the 64-byte signing key) come from slabs of guarded,
// mlocked memory allocated once, instead of one sodium_malloc each: sodium_malloc maps,
// mprotects and mlocks fresh pages per call, which cost more than half of a record read's
// CPU when every read unwrapped a DEK into its own allocation (docs/benchmarks.md). Slots
// are wiped when released; the slabs keep libsodium's guard pages and canary.
constexpr std::size_t kPoolSlotBytes = 64;
constexpr std::size_t kSlabSlots = 1024;  // 64 KiB per slab

class SecretPool {
 public:
  static SecretPool& Instance() {
    static SecretPool* pool = new SecretPool();  // never destroyed: secrets may outlive statics
    return *pool;
  }
  std::uint8_t* Take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) Grow();
    std::uint8_t* p = free_.back();
    free_.pop_back();
    return p;
  }
  void Give(std::uint8_t* p) {
    sodium_memzero(p, kPoolSlotBytes);
    std::lock_guard lock(mu_);
    free_.push_back(p);
  }

 private:
  void Grow() {
    auto* slab = static_cast<std::uint8_t*>(sodium_malloc(kPoolSlotBytes * kSlabSlots));
    if (slab == nullptr) throw std::bad_alloc();
    sodium_memzero(slab, kPoolSlotBytes * kSlabSlots);
    free_.reserve(free_.size() + kSlabSlots);
    for (std::size_t i = kSlabSlots; i-- > 0;) free_.push_back(slab + i * kPoolSlotBytes);
  }
  std::mutex mu_;
  std::vector<std::uint8_t*> free_;
};

bool Pooled(std::size_t size) { return size > 0 && size <= kPoolSlotBytes; }

}  // namespace

bool EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

SecretBytes::SecretBytes(std::size_t size) : size_(size) {
  if (!EnsureSodium()) throw std::bad_alloc();
  if (size == 0) return;
  if (Pooled(size)) {
    data_ = SecretPool::Instance().Take();  // already zero
    return;
  }
  data_ = static_cast<std::uint8_t*>(sodium_malloc(size));
  if (data_ == nullptr) throw std::bad_alloc();
  sodium_memzero(data_, size);
}

void SecretBytes::Release() {
  if (data_ == nullptr) return;
  if (Pooled(size_)) {
    SecretPool::Instance().Give(data_);  // wipes the slot
  } else {
    sodium_free(data_);  // wipes before unmapping
  }
  data_ = nullptr;
  size_ = 0;
}

SecretBytes::~SecretBytes() { Release(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes SecretBytes::ImportCleartext(std::span<const std::uint8_t> bytes) {
  SecretBytes s(bytes.size());
  if (!bytes.empty()) std::copy(bytes.begin(), bytes.end(), s.data_);
  return s;
}

bool SecretBytes::ImportCleartextHex(std::string_view hex, std::size_t size, SecretBytes* out) {
  if (hex.size() != size * 2) return false;
  if (size == 0) {  // sodium_hex2bin's output must not be null
    *out = SecretBytes();
    return true;
  }
  SecretBytes s(size);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(s.data_, size, hex.data(), hex.size(), nullptr, &len, &end) != 0 ||
      len != size || end != hex.data() + hex.size()) {
    return false;
  }
  *out = std::move(s);
  return true;
}

SecretBytes SecretBytes::Random(std::size_t size) {
  SecretBytes s(size);
  if (size > 0) randombytes_buf(s.data_, size);
  return s;
}

SecretBytes SecretBytes::Clone() const { return ImportCleartext(secret_span()); }

bool SecretBytes::Equals(const SecretBytes& other) const {
  if (size_ != other.size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data_, size_) == 0;
}

}  // namespace vault::crypto
