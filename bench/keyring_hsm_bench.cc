// DEK wraps and unwraps per second: the file keyring (libsodium, KEK in memory) against
// AES-GCM by C_Encrypt/C_Decrypt with a non-extractable key in a SoftHSM2 token (what an epoch
// KEK in the token costs per DEK), and the token keyring's unwraps (keyring_token.h) without
// and with its DEK cache, over a working set of 1,000 wrapped DEKs. Paired, interleaved
// rounds; medians and the ratios.
// Usage: keyring_hsm_bench [ROUNDS] [SECONDS_PER_ROUND]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "crypto/pkcs11.h"
#include "crypto/primitives.h"
#include "tests/hsm/softhsm.h"
#include "vault/epoch_token.h"
#include "vault/keyring.h"
#include "vault/keyring_token.h"
#include "vault/root_sealer.h"

namespace {

using Clock = std::chrono::steady_clock;

// Operations per second of fn over about `seconds`.
double Rate(const std::function<bool()>& fn, double seconds) {
  const auto start = Clock::now();
  long n = 0;
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    for (int i = 0; i < 64; ++i) {
      if (!fn()) {
        std::fprintf(stderr, "operation failed\n");
        std::exit(1);
      }
    }
    n += 64;
  }
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - start).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vault;
  namespace p11 = crypto::pkcs11;
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 0.5;
  if (testing::SoftHsmToken::Module().empty()) {
    std::fprintf(stderr, "softhsm2 is not installed\n");
    return 2;
  }
  char tmpl[] = "/tmp/lethe-hsm-bench-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  testing::SoftHsmToken token;
  if (!token.Init(dir)) return 2;

  auto keyring = Keyring::Create(dir + "/keyring", crypto::SecretBytes::Random(32), 1);
  p11::Result r;
  auto session = p11::Session::Open(
      testing::SoftHsmToken::Module(), token.kLabel,
      crypto::SecretBytes::ImportCleartext(std::vector<std::uint8_t>({'4', '7', '1', '1'})), &r);
  if (!keyring.ok() || session == nullptr) return 1;
  p11::Handle kek = 0;
  if (!session->GenerateAesKey("epoch-1", std::vector<std::uint8_t>{1}, &kek).ok()) return 1;

  const crypto::SecretBytes dek = crypto::SecretBytes::Random(32);
  const crypto::KeyId id{};
  std::uint64_t epoch = 0;
  const std::vector<std::uint8_t> wrapped = (*keyring)->WrapDek(dek, id, &epoch);
  const std::vector<std::uint8_t> aad = Keyring::DekWrapContext(epoch);
  const std::vector<std::uint8_t> iv(p11::kGcmIvBytes, 3);
  std::vector<std::uint8_t> hsm_wrapped;
  if (!session->EncryptGcm(kek, iv, aad, dek.secret_span(), &hsm_wrapped).ok()) return 1;

  // The token keyring, without and with its cache, over 1,000 DEKs wrapped in the token.
  auto root = RootKeyFromPkcs11(token.Spec("bench-root"), true);
  if (!root.ok()) return 1;
  auto sealer = SealerOf(**root);
  if (!sealer.ok()) return 1;
  TokenKeyring::Settings uncached, cached;
  uncached.dek_cache_ttl = std::chrono::seconds(0);
  cached.dek_cache_ttl = std::chrono::seconds(600);
  auto tk_off = TokenKeyring::Open(*EpochTokenOf(**root), *sealer, std::nullopt, 1, uncached);
  if (!tk_off.ok()) return 1;
  const std::string row = (*tk_off)->SealedRow(**sealer).value();
  auto tk_on = TokenKeyring::Open(*EpochTokenOf(**root), *sealer, row, 1, cached);
  if (!tk_on.ok()) return 1;
  std::vector<std::vector<std::uint8_t>> set;
  std::uint64_t tk_epoch = 0;
  for (int i = 0; i < 1000; ++i) set.push_back((*tk_off)->WrapDek(dek, id, &tk_epoch));
  std::size_t next = 0;
  auto unwrap = [&](const Keyring& k) {
    crypto::SecretBytes out;
    return k.UnwrapDek(set[next++ % set.size()], tk_epoch, &out).ok();
  };

  std::vector<double> fu, hu, fw, hw, tu, tc;
  for (int i = 0; i < rounds; ++i) {
    crypto::SecretBytes out;
    tu.push_back(Rate([&] { return unwrap(**tk_off); }, seconds));
    tc.push_back(Rate([&] { return unwrap(**tk_on); }, seconds));
    fu.push_back(Rate([&] { return (*keyring)->UnwrapDek(wrapped, epoch, &out).ok(); }, seconds));
    hu.push_back(
        Rate([&] { return session->DecryptGcm(kek, iv, aad, hsm_wrapped, &out).ok(); }, seconds));
    fw.push_back(Rate([&] { return !(*keyring)->WrapDek(dek, id, &epoch).empty(); }, seconds));
    std::vector<std::uint8_t> sealed, fresh_iv(p11::kGcmIvBytes);
    hw.push_back(Rate(
        [&] {
          crypto::RandomFill(fresh_iv);  // a new IV per wrap, as a token keyring would
          return session->EncryptGcm(kek, fresh_iv, aad, dek.secret_span(), &sealed).ok();
        },
        seconds));
  }
  std::printf("unwrap/s  file keyring %.0f  softhsm2 %.0f  ratio %.1f\n", Median(fu), Median(hu),
              Median(fu) / Median(hu));
  std::printf("wrap/s    file keyring %.0f  softhsm2 %.0f  ratio %.1f\n", Median(fw), Median(hw),
              Median(fw) / Median(hw));
  std::printf("unwrap/s  token keyring, no cache %.0f  with cache %.0f  ratio %.1f\n", Median(tu),
              Median(tc), Median(tc) / Median(tu));
  std::filesystem::remove_all(dir);
  return 0;
}
