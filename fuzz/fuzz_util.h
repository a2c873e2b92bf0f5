// Helpers shared by the fuzz targets: a byte cursor, fixed keys, temp directories, oracles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "crypto/aead.h"
#include "crypto/secret.h"

namespace vault::fuzz {

// Consumes a fuzz input front to back; every read is bounded, short inputs read as zeros.
class ByteCursor {
 public:
  ByteCursor(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t U16() {
    const std::uint16_t lo = U8();
    return static_cast<std::uint16_t>(lo | (U8() << 8));
  }
  // Up to n bytes (fewer at the end of the input).
  std::span<const std::uint8_t> Take(std::size_t n) {
    const std::size_t k = n < size_ - pos_ ? n : size_ - pos_;
    std::span<const std::uint8_t> out(data_ + pos_, k);
    pos_ += k;
    return out;
  }
  std::span<const std::uint8_t> Rest() { return Take(size_ - pos_); }
  std::size_t remaining() const { return size_ - pos_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

inline std::string_view AsText(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A fixed 256-bit key, so seeds sealed under it keep opening: bytes tag, tag+1, ...
inline crypto::SecretBytes FixedKey(std::uint8_t tag) {
  std::uint8_t raw[crypto::kKeyBytes];
  for (std::size_t i = 0; i < sizeof raw; ++i) raw[i] = static_cast<std::uint8_t>(tag + i);
  return crypto::SecretBytes::ImportCleartext(raw);
}

// A broken invariant is a finding: report it and abort so libFuzzer saves the input.
[[noreturn]] inline void Fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}
#define VAULT_FUZZ_CHECK(cond)               \
  do {                                       \
    if (!(cond)) ::vault::fuzz::Fail(#cond); \
  } while (0)

// A private scratch directory for the life of the process: on tmpfs (/dev/shm) when there
// is one, since fuzzers write files on every input; removed at exit.
std::string ScratchDir(const std::string& tag);

}  // namespace vault::fuzz
