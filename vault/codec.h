// Binary row codec: little-endian integers and length-prefixed byte strings, bounds-checked.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vault {

class RowWriter {
 public:
  // Reserves room up front, e.g. so a buffer of secret bytes is never reallocated (which
  // would leave unwiped copies behind).
  RowWriter& Reserve(std::size_t bytes) {
    buf_.reserve(bytes);
    return *this;
  }
  RowWriter& U8(std::uint8_t v) {
    buf_.push_back(v);
    return *this;
  }
  RowWriter& U64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) buf_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  RowWriter& I64(std::int64_t v) { return U64(static_cast<std::uint64_t>(v)); }
  RowWriter& Bytes(std::span<const std::uint8_t> b) {
    U64(b.size());
    buf_.insert(buf_.end(), b.begin(), b.end());
    return *this;
  }
  RowWriter& Str(std::string_view s) {
    return Bytes({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  }
  template <std::size_t N>
  RowWriter& Fixed(const std::array<std::uint8_t, N>& a) {
    buf_.insert(buf_.end(), a.begin(), a.end());
    return *this;
  }
  const std::vector<std::uint8_t>& bytes() const { return buf_; }
  std::vector<std::uint8_t> Take() { return std::move(buf_); }

 private:
  std::vector<std::uint8_t> buf_;
};

// Reads what RowWriter wrote. Every accessor fails (returns false) instead of reading past
// the end, so corrupt rows become errors, not crashes.
class RowReader {
 public:
  explicit RowReader(std::span<const std::uint8_t> b) : b_(b) {}
  explicit RowReader(std::string_view s)
      : b_(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()) {}

  bool U8(std::uint8_t* v) {
    if (pos_ + 1 > b_.size()) return false;
    *v = b_[pos_++];
    return true;
  }
  bool U64(std::uint64_t* v) {
    if (pos_ + 8 > b_.size()) return false;
    std::uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r |= static_cast<std::uint64_t>(b_[pos_ + i]) << (8 * i);
    pos_ += 8;
    *v = r;
    return true;
  }
  bool I64(std::int64_t* v) {
    std::uint64_t u;
    if (!U64(&u)) return false;
    *v = static_cast<std::int64_t>(u);
    return true;
  }
  bool Bytes(std::vector<std::uint8_t>* out) {
    std::span<const std::uint8_t> s;
    if (!View(&s)) return false;
    out->assign(s.begin(), s.end());
    return true;
  }
  bool View(std::span<const std::uint8_t>* out) {
    std::uint64_t n;
    if (!U64(&n) || n > b_.size() - pos_) return false;
    *out = b_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool Str(std::string* out) {
    std::span<const std::uint8_t> s;
    if (!View(&s)) return false;
    out->assign(reinterpret_cast<const char*>(s.data()), s.size());
    return true;
  }
  template <std::size_t N>
  bool Fixed(std::array<std::uint8_t, N>* a) {
    if (pos_ + N > b_.size()) return false;
    std::memcpy(a->data(), b_.data() + pos_, N);
    pos_ += N;
    return true;
  }
  bool AtEnd() const { return pos_ == b_.size(); }

 private:
  std::span<const std::uint8_t> b_;
  std::size_t pos_ = 0;
};

// Big-endian u64, for keys that must sort by number (times, sequence numbers).
inline void AppendBigEndian(std::string* s, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline std::uint64_t ReadBigEndian(std::string_view s) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < s.size(); ++i)
    v = (v << 8) | static_cast<std::uint8_t>(s[i]);
  return v;
}
inline std::string BigEndianKey(std::uint64_t v) {
  std::string s;
  AppendBigEndian(&s, v);
  return s;
}

// Byte strings as std::string, the type of table keys and values.
inline std::string Bytes(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
template <std::size_t N>
std::string Bytes(const std::array<std::uint8_t, N>& a) {
  return Bytes(std::span<const std::uint8_t>(a));
}

}  // namespace vault
