// SecretBytes over libsodium's guarded allocator.
#include "crypto/secret.h"

#include <sodium.h>

#include <new>
#include <utility>

namespace vault::crypto {

bool EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

SecretBytes::SecretBytes(std::size_t size) : size_(size) {
  if (!EnsureSodium()) throw std::bad_alloc();
  if (size == 0) return;
  data_ = static_cast<std::uint8_t*>(sodium_malloc(size));
  if (data_ == nullptr) throw std::bad_alloc();
  sodium_memzero(data_, size);
}

SecretBytes::~SecretBytes() {
  if (data_ != nullptr) sodium_free(data_);  // wipes before unmapping
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
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
