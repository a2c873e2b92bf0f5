// Fuzz target: the binary row codec (vault/codec.h) every LMDB value is read with.
//
// Input: n (1 byte, at most 32) | n opcodes | row bytes. The opcodes drive a RowReader over
// the row; each read that succeeds is written again with RowWriter, and what the writer
// produced must equal the bytes the reader consumed (the encoding is canonical). A read that
// fails must leave no trace of reading past the end (ASan would see it).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "vault/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vault::fuzz::ByteCursor in(data, size);
  const std::size_t n = in.U8() % 33;
  const auto ops = in.Take(n);
  const auto row = in.Rest();

  vault::RowReader r(row);
  vault::RowWriter w;
  bool all_ok = true;
  for (const std::uint8_t op : ops) {
    bool ok = false;
    switch (op % 8) {
      case 0: {
        std::uint8_t v = 0;
        if ((ok = r.U8(&v))) w.U8(v);
        break;
      }
      case 1: {
        std::uint64_t v = 0;
        if ((ok = r.U64(&v))) w.U64(v);
        break;
      }
      case 2: {
        std::int64_t v = 0;
        if ((ok = r.I64(&v))) w.I64(v);
        break;
      }
      case 3: {
        std::vector<std::uint8_t> v;
        if ((ok = r.Bytes(&v))) w.Bytes(v);
        break;
      }
      case 4: {
        std::span<const std::uint8_t> v;
        if ((ok = r.View(&v))) {
          VAULT_FUZZ_CHECK(v.empty() || (v.data() >= row.data() &&
                                         v.data() + v.size() <= row.data() + row.size()));
          w.Bytes(v);
        }
        break;
      }
      case 5: {
        std::string v;
        if ((ok = r.Str(&v))) w.Str(v);
        break;
      }
      case 6: {
        std::array<std::uint8_t, 16> v{};
        if ((ok = r.Fixed(&v))) w.Fixed(v);
        break;
      }
      default: {
        std::array<std::uint8_t, 3> v{};
        if ((ok = r.Fixed(&v))) w.Fixed(v);
        break;
      }
    }
    if (!ok) {
      all_ok = false;  // a failed read may have consumed a length prefix; stop like callers do
      break;
    }
  }
  const std::vector<std::uint8_t>& out = w.bytes();
  VAULT_FUZZ_CHECK(out.size() <= row.size());
  VAULT_FUZZ_CHECK(std::equal(out.begin(), out.end(), row.begin()));
  if (all_ok) VAULT_FUZZ_CHECK(r.AtEnd() == (out.size() == row.size()));

  // Big-endian keys: round trip of the first 8 bytes.
  const std::string_view text = vault::fuzz::AsText(row);
  std::string key;
  const std::uint64_t v = vault::ReadBigEndian(text);
  vault::AppendBigEndian(&key, v);
  if (text.size() >= 8) VAULT_FUZZ_CHECK(key == text.substr(0, 8));
  return 0;
}
