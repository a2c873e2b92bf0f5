// Machine limits (limits.h): each measured for a fixed time, figures per second.
#include "bench/suite/limits.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "bench/suite/load.h"

namespace bench {
namespace {

// Runs fn() repeatedly from `threads` threads for `seconds`; returns calls per second.
double RatePerSecond(unsigned threads, double seconds, const std::function<void()>& fn) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> total{0};
  std::vector<std::thread> pool;
  const auto t0 = std::chrono::steady_clock::now();
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      std::uint64_t n = 0;
      while (!stop) {
        fn();
        ++n;
      }
      total += n;
    });
  }
  while (SecondsSince(t0) < seconds) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop = true;
  for (auto& th : pool) th.join();
  return static_cast<double>(total) / SecondsSince(t0);
}

}  // namespace

nlohmann::json FdatasyncLimit(const std::string& dir, double seconds) {
  const std::string path = dir + "/fdatasync-probe";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw BenchError("cannot create " + path);
  std::array<char, 4096> block{};
  block.fill('s');
  bool failed = false;
  const double rate = RatePerSecond(1, seconds, [&] {
    if (::pwrite(fd, block.data(), block.size(), 0) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      failed = true;
    }
  });
  ::close(fd);
  ::unlink(path.c_str());
  if (failed) throw BenchError("pwrite/fdatasync failed in " + dir);
  return {{"fdatasync_per_s", rate}, {"dir", dir}};
}

namespace {

constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
using AeadKey = std::array<unsigned char, crypto_aead_xchacha20poly1305_ietf_KEYBYTES>;

// nonce || ciphertext of len bytes of 'x'.
std::vector<unsigned char> Seal(const AeadKey& key, std::size_t len) {
  const std::vector<unsigned char> pt(len, 'x');
  std::vector<unsigned char> ct(kNonce + len + kTag);
  randombytes_buf(ct.data(), kNonce);
  unsigned long long n = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(ct.data() + kNonce, &n, pt.data(), len, nullptr, 0,
                                             nullptr, ct.data(), key.data());
  return ct;
}

bool Open(const AeadKey& key, const std::vector<unsigned char>& ct,
          std::vector<unsigned char>* pt) {
  pt->resize(ct.size() - kNonce - kTag);
  unsigned long long n = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(pt->data(), &n, nullptr, ct.data() + kNonce,
                                                    ct.size() - kNonce, nullptr, 0, ct.data(),
                                                    key.data()) == 0;
}

}  // namespace

nlohmann::json AeadLimit(unsigned threads, double seconds) {
  AeadKey key{};
  randombytes_buf(key.data(), key.size());
  const std::size_t len = RecordJson().size();
  const std::vector<unsigned char> sealed = Seal(key, len);
  std::atomic<bool> bad{false};
  const double seal = RatePerSecond(threads, seconds, [&] { (void)Seal(key, len); });
  const double open = RatePerSecond(threads, seconds, [&] {
    thread_local std::vector<unsigned char> pt;
    if (!Open(key, sealed, &pt)) bad = true;
  });
  // A rewrap: open a 32-byte key under the old KEK, seal it under the new one.
  const std::vector<unsigned char> wrapped = Seal(key, 32);
  const double rewrap = RatePerSecond(threads, seconds, [&] {
    thread_local std::vector<unsigned char> pt;
    if (!Open(key, wrapped, &pt)) bad = true;
    (void)Seal(key, 32);
  });
  if (bad) throw BenchError("AEAD open failed");
  return {{"threads", threads},
          {"seal_1k_per_s", seal},
          {"open_1k_per_s", open},
          {"rewrap_32b_per_s", rewrap}};
}

nlohmann::json Argon2idLimit(unsigned threads, double seconds, unsigned memory_kib,
                             unsigned iterations) {
  std::array<char, crypto_pwhash_STRBYTES> hash{};
  const char pw[] = "correct horse battery staple";
  if (crypto_pwhash_str_alg(hash.data(), pw, sizeof pw - 1, iterations,
                            std::size_t{memory_kib} * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw BenchError("crypto_pwhash_str_alg failed (out of memory?)");
  }
  bool bad = false;
  const double rate = RatePerSecond(threads, seconds, [&] {
    if (crypto_pwhash_str_verify(hash.data(), pw, sizeof pw - 1) != 0) bad = true;
  });
  if (bad) throw BenchError("Argon2id verify failed");
  return {{"threads", threads},
          {"memory_kib", memory_kib},
          {"iterations", iterations},
          {"verify_per_s", rate}};
}

}  // namespace bench
