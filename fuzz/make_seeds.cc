// Writes the seed corpora of every fuzz target into <out>/<target>/ (fuzz/corpus/ in the
// repository). Run by hand when an input format changes: the seeds are checked in so every
// build replays the same inputs. Usage: vault_fuzz_make_seeds <out dir>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/primitives.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/keyring_format.h"
#include "vault/codec.h"
#include "vault/keyring.h"
#include "vault/policy.h"
#include "vault/record_plaintext.h"

namespace {

namespace crypto = vault::crypto;
namespace kf = vault::fuzz::keyring_format;
using Bytes = std::vector<std::uint8_t>;

std::string g_out;

void Write(const std::string& target, const std::string& name, std::string_view bytes) {
  const std::string dir = g_out + "/" + target;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + name, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string Str(std::span<const std::uint8_t> b) { return std::string(b.begin(), b.end()); }

void EnvelopeSeeds() {
  const crypto::SecretBytes key = vault::fuzz::FixedKey(1);
  const std::string_view ctx = "fuzz-envelope-context";
  const crypto::EnvelopeKind kinds[] = {
      crypto::EnvelopeKind::kRecord, crypto::EnvelopeKind::kWrappedKey,
      crypto::EnvelopeKind::kKeyring, crypto::EnvelopeKind::kSealed};
  const std::string plain = "{\"name\":\"Ada\",\"email\":\"ada@example.com\"}";
  crypto::KeyId id{};
  id[0] = 0x42;
  for (int k = 0; k < 4; ++k) {
    for (const crypto::Aead alg : {crypto::Aead::kXChaCha20Poly1305, crypto::Aead::kAes256Gcm}) {
      if (!crypto::AeadAvailable(alg)) continue;
      const std::string a = alg == crypto::Aead::kAes256Gcm ? "aes" : "xchacha";
      for (const std::size_t n : {std::size_t{0}, std::size_t{32}, plain.size()}) {
        if (n == 32 && k != 1) continue;  // wrapped keys are 32 bytes
        if (n == 0 && k != 0) continue;
        const bool empty_ctx = n == 0;
        const auto env = crypto::Seal(
            kinds[k], alg, key, id, crypto::AsBytes(std::string_view(plain).substr(0, n)),
            empty_ctx ? std::span<const std::uint8_t>() : crypto::AsBytes(ctx));
        const char selector = static_cast<char>(k | (empty_ctx ? 4 : 0));
        Write("envelope", "sealed-" + a + "-kind" + std::to_string(k) + "-" + std::to_string(n),
              std::string(1, selector) + Str(env));
      }
    }
  }
  const auto env = crypto::Seal(kinds[0], crypto::Aead::kXChaCha20Poly1305, key, id,
                                crypto::AsBytes(plain), crypto::AsBytes(ctx));
  std::string s = std::string(1, '\0') + Str(env);
  Write("envelope", "truncated-tag", s.substr(0, s.size() - 1));
  Write("envelope", "header-only", s.substr(0, 1 + crypto::kEnvelopeHeaderBytes));
  std::string bad = s;
  bad[3] = 3;  // version
  Write("envelope", "bad-version", bad);
  bad = s;
  bad[4] = 9;  // unknown algorithm
  Write("envelope", "bad-alg", bad);
  bad = s;
  bad[s.size() / 2] ^= 1;
  Write("envelope", "flipped-bit", bad);
}

// The slot bytes keyring.cc wrote (seq + length-prefixed envelope), without the zero tail.
Bytes SlotOf(const std::string& file, int slot) {
  const auto* p =
      reinterpret_cast<const std::uint8_t*>(file.data()) + kf::kHeaderBytes + slot * kf::kSlotBytes;
  vault::RowReader r(std::span<const std::uint8_t>(p, kf::kSlotBytes));
  std::uint64_t seq = 0;
  std::span<const std::uint8_t> env;
  if (!r.U64(&seq) || !r.View(&env)) return {};
  return Bytes(p, p + 16 + env.size());
}

Bytes PlaintextOf(const crypto::SecretBytes& root, const Bytes& slot) {
  vault::RowReader r(slot);
  std::uint64_t seq = 0;
  std::span<const std::uint8_t> env;
  crypto::SecretBytes plain;
  if (!r.U64(&seq) || !r.View(&env) ||
      !crypto::OpenSecret(crypto::EnvelopeKind::kKeyring, root, env, kf::SlotContext(seq),
                          &plain)) {
    std::fprintf(stderr, "make_seeds: cannot open a keyring slot\n");
    std::exit(1);
  }
  const auto s = plain.secret_span();
  return Bytes(s.begin(), s.end());
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void KeyringSeeds() {
  const crypto::SecretBytes root = vault::fuzz::FixedKey(0x40);
  char tmpl[] = "/tmp/vault-seeds-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string path = dir + "/keyring";
  auto k = vault::Keyring::Create(path, root.Clone(), 1795381680);
  if (!k.ok()) std::exit(1);
  const std::string fresh = ReadAll(path);
  const auto header = crypto::AsBytes(std::string_view(fresh).substr(0, kf::kMagicBytes));
  const Bytes s0 = SlotOf(fresh, 0), s1 = SlotOf(fresh, 1);
  Write("keyring", "fresh", kf::Encode(0, header, s0, s1));
  Write("keyring", "fresh-plaintext",
        kf::Encode(kf::kSealPlaintext, header, PlaintextOf(root, s0), {}));
  Write("keyring", "fresh-truncated",
        kf::Encode(kf::kTruncate, header, s0, Bytes(s1.begin(), s1.begin() + 40)));
  Write("keyring", "fresh-slot1-only", kf::Encode(0, header, {}, s1));
  Bytes corrupt = s0;
  corrupt[corrupt.size() / 2] ^= 0x10;
  Write("keyring", "corrupt-slot0", kf::Encode(0, header, corrupt, s1));
  Write("keyring", "corrupt-both", kf::Encode(0, header, corrupt, corrupt));
  Write("keyring", "bad-magic", kf::Encode(0, crypto::AsBytes("VAULTKR2"), s0, s1));

  // Rotated twice, the oldest epoch destroyed: retired and destroyed entries in the layout.
  (void)(*k)->StartEpoch(1795381680 + 86400);
  (void)(*k)->StartEpoch(1795381680 + 2 * 86400);
  (void)(*k)->DestroyEpochs({1}, 1795381680 + 2 * 86400);
  const std::string rotated = ReadAll(path);
  const Bytes r0 = SlotOf(rotated, 0), r1 = SlotOf(rotated, 1);
  Write("keyring", "rotated", kf::Encode(kf::kRotate, header, r0, r1));
  Write("keyring", "rotated-plaintext",
        kf::Encode(kf::kSealPlaintext | 4 | kf::kRotate, header, PlaintextOf(root, r0), s1));
  Write("keyring", "old-and-new-slot", kf::Encode(0, header, s0, r1));

  // A keyring sealed under another root key.
  const std::string other = dir + "/other";
  auto o = vault::Keyring::Create(other, vault::fuzz::FixedKey(0x41), 1795381680);
  if (!o.ok()) std::exit(1);
  const std::string other_file = ReadAll(other);
  Write("keyring", "other-root",
        kf::Encode(0, header, SlotOf(other_file, 0), SlotOf(other_file, 1)));
  std::filesystem::remove_all(dir);
}

void PolicySeeds() {
  const std::string def = vault::Policy::DefaultYaml();
  Write("policy", "default.yaml", def);
  auto replace = [&](std::string s, const std::string& from, const std::string& to) {
    const std::size_t at = s.find(from);
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  Write("policy", "aes.yaml", replace(def, "cipher: xchacha20poly1305", "cipher: aes256gcm"));
  Write("policy", "bad-duration.yaml", replace(def, "grace: 31d", "grace: 31 days"));
  Write("policy", "unknown-key.yaml",
        replace(def, "audit: {retention: 90d}", "audit: {retention: 90d, x: 1}"));
  Write("policy", "bad-basis.yaml", replace(def, "legal_basis: contract", "legal_basis: whim"));
  Write("policy", "argon2-low.yaml", replace(def, "memory_kib: 19456", "memory_kib: 1024"));
  Write("policy", "minimal.yaml",
        "version: 1\ncategories:\n  account:\n    legal_basis: contract\n    purposes: [service]\n"
        "    retention: until_erasure\n");
  Write("policy", "block-style.yaml",
        "version: 1\nerasure:\n  grace: 0d\nkeys:\n  epoch: 12h\n  horizon: 7d\ncategories:\n"
        "  logs:\n    legal_basis: legitimate_interest\n    purposes:\n      - security\n"
        "    retention:\n      after_collection: 90d\n    index:\n      ip: {unique: false}\n");
  Write("policy", "anchors.yaml",
        "version: 1\ncategories:\n  a: &c {legal_basis: contract, purposes: [service], retention: "
        "until_erasure}\n"
        "  b: *c\n");
  Write("policy", "not-a-map.yaml", "- 1\n- 2\n");
  Write("policy", "empty.yaml", "");
}

void JsonBodySeeds() {
  // Selector: bits 0-1 endpoint, 2-4 subject, 5-6 category, 7 admin caller.
  auto seed = [](const std::string& name, int selector, const std::string& body) {
    Write("json_body", name, std::string(1, static_cast<char>(selector)) + body);
  };
  seed("put-account", 0, R"({"data":{"name":"Ada Lovelace","email":"ada@example.com"}})");
  seed("put-billing-event", 0 | (1 << 5),
       R"({"data":{"amount_cents":1200,"currency":"EUR"},"event_time":"2026-11-01T10:00:00Z"})");
  seed(
      "put-usage-nested", 0 | (2 << 5) | (1 << 2),
      R"({"data":{"events":[{"t":1,"k":"login"},{"t":2,"k":"x","tags":[null,true,1.5,"\u00e9"]}]}})");
  seed("put-unknown-field", 0, R"({"data":{},"extra":1})");
  seed("put-data-not-object", 0, R"({"data":[1,2]})");
  seed("put-bad-time", 0 | (1 << 5), R"({"data":{"a":1},"event_time":"yesterday"})");
  seed("put-admin-marketing", 0 | (3 << 5) | 0x80, R"({"data":{"newsletter":true}})");
  seed("erasure-grace", 1, R"({"mode":"grace","reason":"user request"})");
  seed("erasure-immediate", 1 | (1 << 2), R"({"mode":"immediate","reason":"user request"})");
  seed("erasure-bad-mode", 1, R"({"mode":"later","reason":"x"})");
  seed("hold", 2, R"({"reason":"litigation 2026-17","until":"2027-01-01T00:00:00Z"})");
  seed("hold-no-until", 2 | (2 << 2), R"({"reason":"tax audit"})");
  seed("token-app", 3, R"({"role":"app","purposes":["service","billing"],"name":"backend"})");
  seed("token-dpo", 3, R"({"role":"dpo","name":"privacy-team"})");
  seed("token-bad-purposes", 3, R"({"role":"app","purposes":[1,""]})");
  seed("not-json", 0, "{\"data\":");
  seed("deep", 0, std::string(70, '[') + std::string(70, ']'));
}

void HttpSeeds() {
  // Requests as sent on the wire: a body gets its Content-Length.
  auto seed = [](const std::string& name, std::string request) {
    const std::size_t end = request.find("\r\n\r\n");
    const std::size_t body = request.size() - (end + 4);
    if (body > 0 && request.find("Content-Length") == std::string::npos &&
        request.find("Transfer-Encoding") == std::string::npos) {
      request.insert(end + 2, "Content-Length: " + std::to_string(body) + "\r\n");
    }
    Write("http_request", name, request);
  };
  const std::string json = "Content-Type: application/json\r\n";
  seed("healthz", "GET /healthz HTTP/1.1\r\n\r\n");
  seed("metrics", "GET /metrics HTTP/1.1\r\nAuthorization: Bearer @app\r\n\r\n");
  seed("policy", "GET /v1/policy HTTP/1.1\r\nAuthorization: Bearer @auditor\r\n\r\n");
  seed("put-record",
       "PUT /v1/subjects/user-42/records/account/profile HTTP/1.1\r\n"
       "Authorization: Bearer @app\r\n" +
           json + "\r\n{\"data\":{\"name\":\"Ada\",\"email\":\"ada@example.com\"}}");
  seed("put-billing",
       "PUT /v1/subjects/user-42/records/billing/inv-1 HTTP/1.1\r\n"
       "Authorization: Bearer @app\r\n" +
           json + "\r\n{\"data\":{\"amount_cents\":1200},\"event_time\":\"2026-11-01T10:00:00Z\"}");
  seed("get-record",
       "GET /v1/subjects/user-42/records/account/profile HTTP/1.1\r\n"
       "Authorization: Bearer @app\r\n\r\n");
  seed("head-record",
       "HEAD /v1/subjects/user-42/records/account/profile HTTP/1.1\r\n"
       "Authorization: Bearer @dpo\r\n\r\n");
  seed("list-records",
       "GET /v1/subjects/user-42/records/billing HTTP/1.1\r\n"
       "Authorization: bearer  @dpo \r\n\r\n");
  seed("delete-record",
       "DELETE /v1/subjects/user-42/records/account/profile HTTP/1.1\r\n"
       "Authorization: Bearer @app\r\n\r\n");
  seed("subject", "GET /v1/subjects/user-42 HTTP/1.1\r\nAuthorization: Bearer @admin\r\n\r\n");
  seed("erasure", "POST /v1/subjects/user-7/erasure HTTP/1.1\r\nAuthorization: Bearer @dpo\r\n" +
                      json + "\r\n{\"mode\":\"grace\",\"reason\":\"user request\"}");
  seed("cancel-erasure",
       "DELETE /v1/subjects/user-7/erasure HTTP/1.1\r\n"
       "Authorization: Bearer @dpo\r\n\r\n");
  seed("get-erasure",
       "GET /v1/erasures/0123456789abcdef HTTP/1.1\r\nAuthorization: Bearer @dpo\r\n\r\n");
  seed("hold", "POST /v1/subjects/user-42/legal-holds HTTP/1.1\r\nAuthorization: Bearer @dpo\r\n" +
                   json + "\r\n{\"reason\":\"litigation\"}");
  seed("release-hold",
       "DELETE /v1/subjects/user-42/legal-holds/h1 HTTP/1.1\r\n"
       "Authorization: Bearer @dpo\r\n\r\n");
  seed("public-key",
       "GET /v1/receipts/public-key HTTP/1.1\r\nAuthorization: Bearer @auditor\r\n\r\n");
  seed("create-token", "POST /v1/tokens HTTP/1.1\r\nAuthorization: Bearer @admin\r\n" + json +
                           "\r\n{\"role\":\"auditor\",\"name\":\"ext\"}");
  seed("revoke-token", "DELETE /v1/tokens/t0123 HTTP/1.1\r\nAuthorization: Bearer @admin\r\n\r\n");
  seed("rotate", "POST /v1/admin/epochs/rotate HTTP/1.1\r\nAuthorization: Bearer @admin\r\n\r\n");
  seed("sweep", "POST /v1/admin/sweep HTTP/1.1\r\nAuthorization: Bearer @admin\r\n\r\n");
  seed("audit", "GET /v1/audit?after=1&limit=5 HTTP/1.1\r\nAuthorization: Bearer @auditor\r\n\r\n");
  seed("audit-verify", "GET /v1/audit/verify HTTP/1.1\r\nAuthorization: Bearer @auditor\r\n\r\n");
  seed("no-token", "GET /v1/subjects/user-42 HTTP/1.1\r\n\r\n");
  seed("app-on-admin", "POST /v1/tokens HTTP/1.1\r\nAuthorization: Bearer @app\r\n" + json +
                           "\r\n{\"role\":\"admin\"}");
  seed("encoded-slash",
       "GET /v1/subjects/a%2F..%2Fb/records/account/x HTTP/1.1\r\n"
       "Authorization: Bearer @app\r\n\r\n");
  seed("wrong-method", "PATCH /v1/policy HTTP/1.1\r\nAuthorization: Bearer @admin\r\n\r\n");
  seed("chunked", "POST /v1/tokens HTTP/1.1\r\nAuthorization: Bearer @admin\r\n" + json +
                      "Transfer-Encoding: chunked\r\n\r\n"
                      "12\r\n{\"role\":\"auditor\",\r\n"
                      "f\r\n\"name\":\"chunk\"}\r\n0\r\n\r\n");
  // Two requests in one input, sent as they are.
  Write(
      "http_request", "pipelined",
      "GET /healthz HTTP/1.1\r\n\r\nGET /v1/policy HTTP/1.1\r\nAuthorization: Bearer @app\r\n\r\n");
  seed("get-with-body", "GET /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET /");
  seed("double-length",
       "POST /v1/tokens HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}");
  seed("wrong-content-type",
       "PUT /v1/subjects/u/records/account/r HTTP/1.1\r\n"
       "Authorization: Bearer @app\r\nContent-Type: text/plain\r\n\r\n{}");
}

void SmallSeeds() {
  Write(
      "canonical_json", "receipt.json",
      R"({"erasure_id":"e1","subject_uid":"00ff","destroyed":[{"key_id":"k1","scope":"account/live"}],)"
      R"("retained":[{"category":"billing","until":"2033-11-30T00:00:00Z","basis":"legal_obligation"}],)"
      R"("unrecoverable_after":"2026-12-23T21:08:00Z","count":3,"ok":true,"none":null})");
  Write("canonical_json", "escapes.json",
        "{\"s\":\"tab\\t nl\\n ctl\\u0001 quote\\\" \\u00e9 \\ud83d\\ude00\"}");
  Write("canonical_json", "numbers.json",
        "[0,-1,18446744073709551615,-9223372036854775808,1.5,1e2]");
  Write("canonical_json", "non-ascii-key.json", "{\"\\u00e9\":1}");
  Write("canonical_json", "nested.json", "{\"b\":[{\"z\":1,\"a\":[]}],\"a\":{}}");

  Write("time_text", "utc-and-years", "2026-11-22T21:08:00Z|7y");
  Write("time_text", "offset-and-month", "2026-01-31T23:30:00.123+01:00|1m");
  Write("time_text", "leap-second", "2016-12-31T23:59:60Z|24h");
  Write("time_text", "leap-day", "2024-02-29T00:00:00-05:30|12m");
  Write("time_text", "max-duration", "9999-12-31T23:59:59z|200y");
  Write("time_text", "bad", "2026-13-01T00:00:00Z|31x");

  // n | ops | row, the row as the engine writes them.
  vault::RowWriter w;
  w.U8(1).U64(42).I64(-7).Str("subject").Bytes(std::vector<std::uint8_t>(20, 0xab));
  std::array<std::uint8_t, 16> id{};
  w.Fixed(id);
  const std::string ops = std::string("\x06", 1) + std::string("\x00\x01\x02\x05\x03\x06", 6);
  Write("row_codec", "record-row", ops + Str(w.bytes()));
  Write("row_codec", "view-past-end",
        std::string("\x02\x04\x04", 3) + std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8));
  Write("row_codec", "empty", std::string("\x03\x00\x01\x07", 4));
}

void RecordPlaintextSeeds() {
  const std::string data = R"({"email":"ada@example.com","n":[1,2.5,null,true],"s":"\u00e9"})";
  const std::string format2 = Str(vault::EncodeRecordPlaintext("profile", data));
  Write("record_plaintext", "format2", format2);
  Write("record_plaintext", "format2-empty-object", Str(vault::EncodeRecordPlaintext("r", "{}")));
  Write("record_plaintext", "format1", R"({"d":{"email":"ada@example.com"},"r":"profile"})");
  Write("record_plaintext", "format1-not-object", R"({"d":[1],"r":"profile"})");
  Write("record_plaintext", "format2-truncated", format2.substr(0, format2.size() - 3));
  Write("record_plaintext", "format2-trailing", Str(vault::EncodeRecordPlaintext("p", "{}")) + "x");
}

// Encoded password hashes, made with the real tools (libxcrypt, libargon2, `openssl passwd -6`,
// Python's hashlib.pbkdf2_hmac) when the seeds were first written, plus refused shapes.
void PasswordHashSeeds() {
  Write("password_hash", "argon2id-cheap", R"($argon2id$v=19$m=64,t=1,p=1$ZnV6enNhbHRmdXp6c2FsdA$NMhMyMPcOQy0Ofqsev2lTcDZQbfbF0KZhaYqntYjr50)");
  Write("password_hash", "argon2i-lanes", R"($argon2i$v=19$m=64,t=2,p=2$ZnV6enNhbHRmdXp6c2FsdA$qiL3gWFCh0PV9vef417GTA)");
  Write("password_hash", "argon2id-policy-cost", R"($argon2id$v=19$m=19456,t=2,p=1$ZnV6enNhbHRmdXp6c2FsdA$NMhMyMPcOQy0Ofqsev2lTcDZQbfbF0KZhaYqntYjr50)");
  Write("password_hash", "argon2id-v16", R"($argon2id$v=16$m=64,t=1,p=1$ZnV6enNhbHRmdXp6c2FsdA$NMhMyMPcOQy0Ofqsev2lTcDZQbfbF0KZhaYqntYjr50)");
  Write("password_hash", "bcrypt-2b", R"($2b$04$KBCwKxOzLha2MUDgW0PjXerKZQKevFCoq8rZNXqhizF6aoflKuWrG)");
  Write("password_hash", "bcrypt-2a", R"($2a$04$KBCwKxOzLha2MUDgW0PjXerKZQKevFCoq8rZNXqhizF6aoflKuWrG)");
  Write("password_hash", "bcrypt-2y", R"($2y$04$KBCwKxOzLha2MUDgW0PjXerKZQKevFCoq8rZNXqhizF6aoflKuWrG)");
  Write("password_hash", "bcrypt-cost31", R"($2b$31$KBCwKxOzLha2MUDgW0PjXerKZQKevFCoq8rZNXqhizF6aoflKuWrG)");
  Write("password_hash", "sha512crypt", R"($6$fuzzsalt$TMAdpzXePxLUFyzhbszyG7PEYcOkSrx8gK/JwqZ/qtZjsDmpAWbYDF41z.P3owQTu0fV.h8j3SLR5H1R0lr9n/)");
  Write("password_hash", "sha512crypt-rounds", R"($6$rounds=1000$k2XAnEHBqQ1Ct2aM$VFiQ97MXDQSygshjtB6N21txAPuGrazVYbYAC.E5Ip15Jh1TXRkM..wKgBiDnKlQvIjHjVzWOGqwyGiaxRutc/)");
  Write("password_hash", "django-pbkdf2", R"(pbkdf2_sha256$1000$fuzzSalt1$KkGPxeBiplYAQDDRXjOA4XLGFn6uT2s+u0Lf4VnQ+PM=)");
  Write("password_hash", "django-bad-base64", R"(pbkdf2_sha256$1000$fuzzSalt1$KkGPxeBiplYAQDDRXjOA4XLGFn6uT2s+u0Lf4VnQ+PM)");
  Write("password_hash", "md5crypt-unsupported", R"($1$fuzzsalt$abcdefghijklmnopqrstuv)");
  Write("password_hash", "yescrypt-unsupported", R"($y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7)");
  Write("password_hash", "empty", R"()");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <out dir>\n", argv[0]);
    return 2;
  }
  g_out = argv[1];
  EnvelopeSeeds();
  KeyringSeeds();
  PolicySeeds();
  JsonBodySeeds();
  HttpSeeds();
  SmallSeeds();
  RecordPlaintextSeeds();
  PasswordHashSeeds();
  std::printf("seeds written below %s\n", g_out.c_str());
  return 0;
}
