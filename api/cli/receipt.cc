// `lethe receipt verify FILE`: an erasure receipt checked offline against the receipt signing
// public key (from --public-key, or the data directory's keyring), naming the field that fails.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <span>
#include <sstream>

#include "api/cli/common.h"
#include "crypto/primitives.h"

namespace vault::cli {
namespace {

using nlohmann::json;

// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): 12 bytes, then the raw key.
constexpr std::uint8_t kEd25519SpkiPrefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                               0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

std::string Trim(std::string s) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && space(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && space(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::optional<std::string> ReadAll(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A PEM "PUBLIC KEY" holding an Ed25519 key: its raw 32 bytes in base64.
std::optional<std::string> FromPem(const std::string& text) {
  std::istringstream lines(text);
  std::string line, body;
  while (std::getline(lines, line)) {
    if (line.rfind("-----", 0) != 0) body += Trim(line);
  }
  const auto der = crypto::FromBase64(body);
  if (!der || der->size() != sizeof(kEd25519SpkiPrefix) + crypto::kSigningPublicBytes ||
      !std::equal(std::begin(kEd25519SpkiPrefix), std::end(kEd25519SpkiPrefix), der->begin())) {
    return std::nullopt;
  }
  return crypto::ToBase64(std::span(*der).subspan(sizeof(kEd25519SpkiPrefix)));
}

// --public-key K: a file (the JSON of /v1/receipts/public-key, a PEM public key, base64 text
// or the 32 raw bytes) or the base64 key itself.
std::optional<std::string> PublicKeyFrom(const std::string& k) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(k, ec)) return Trim(k);
  const std::optional<std::string> text = ReadAll(k);
  if (!text) return std::nullopt;
  if (text->size() == crypto::kSigningPublicBytes) return crypto::ToBase64(crypto::AsBytes(*text));
  const std::string trimmed = Trim(*text);
  if (trimmed.rfind("-----BEGIN", 0) == 0) return FromPem(trimmed);
  const json j = json::parse(trimmed, nullptr, false);
  if (j.is_object() && j.contains("public_key") && j["public_key"].is_string()) {
    return j["public_key"].get<std::string>();
  }
  return trimmed;
}

// The receipt in the file: a receipt, or a response that carries one under "receipt".
json ReceiptFrom(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_object() && !j.contains("signature") && j.contains("receipt") &&
      j["receipt"].is_object()) {
    return j["receipt"];
  }
  return j;
}

int Report(const Flags& flags, const json& receipt, const ReceiptCheck& check) {
  const auto text = [&](const char* field) {
    return receipt.is_object() && receipt.contains(field) && receipt[field].is_string()
               ? receipt[field].get<std::string>()
               : std::string();
  };
  if (flags.Has("json")) {
    PrintJson({{"valid", check.ok},
               {"field", check.field},
               {"problem", check.problem},
               {"erasure_id", text("erasure_id")},
               {"key_id", text("key_id")}});
  } else if (check.ok) {
    std::cout << "Receipt valid: erasure " << text("erasure_id") << ", completed "
              << text("completed_at") << ", signed by key " << text("key_id") << "\n";
  }
  if (check.ok) return kExitOk;
  return Fail(
      kExitFailure, "the receipt is not valid: " + check.field + " " + check.problem,
      "check that the file is the receipt as issued and the key is the vault's receipt key");
}

int RunReceiptVerify(const Command& cmd, const Flags& flags) {
  if (flags.positionals().empty()) return UsageError(cmd, "the receipt FILE is required");
  std::string public_key;
  if (flags.Has("public-key")) {
    const std::optional<std::string> pk = PublicKeyFrom(flags.Get("public-key"));
    if (!pk) return UsageError(cmd, "cannot read the --public-key file");
    public_key = *pk;
  } else if (flags.Has("data-dir")) {
    int rc = 0;
    std::unique_ptr<Vault> vault = OpenExisting(cmd, flags, &rc);
    if (vault == nullptr) return rc;
    public_key = vault->ReceiptKey().public_key_base64;
  } else {
    return UsageError(cmd, "give --public-key (from GET /v1/receipts/public-key) or --data-dir");
  }
  const std::optional<std::string> text = ReadAll(flags.positionals()[0]);
  if (!text) {
    return Fail(kExitFailure, "cannot read " + flags.positionals()[0], "check the FILE path");
  }
  const json receipt = ReceiptFrom(*text);
  if (receipt.is_discarded()) {
    return Report(flags, receipt, ReceiptCheck{false, "receipt", "is not valid JSON"});
  }
  return Report(flags, receipt, Vault::CheckReceipt(receipt, public_key));
}

}  // namespace

std::vector<Command> ReceiptCommands() {
  return {
      {"receipt verify", "FILE",
       "check an erasure receipt's fields, key id and Ed25519 signature offline (exit 0 valid, "
       "1 invalid)",
       VaultFlags({{"public-key", "K",
                    "the receipt public key: base64, or a file (JSON of /v1/receipts/public-key, "
                    "PEM, base64 or 32 raw bytes); default: the --data-dir keyring's"}}),
       1, RunReceiptVerify},
  };
}

}  // namespace vault::cli
