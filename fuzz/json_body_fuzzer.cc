// Fuzz target: the JSON request body of every endpoint that takes one.
//
// Input: one selector byte, then the body. Selector bits 0-1 pick the endpoint (PUT record,
// POST erasure, POST legal hold, POST token), bits 2-4 the subject, bits 5-6 the category,
// bit 7 the caller (admin, or the role the endpoint is meant for). The body goes through the
// API's codec (ParseJsonObject and the field readers, as the handlers call them) and then
// through the real handler via ApiServer::Dispatch against an in-process vault (erasures
// only target subjects 4..7). A record
// that was stored must read back equal.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "api/json_codec.h"
#include "fuzz/api_fixture.h"
#include "fuzz/fuzz_util.h"
#include "vault/rules.h"

namespace {

using nlohmann::json;
using vault::fuzz::ApiFixture;

constexpr const char* kCategories[] = {"account", "billing", "usage", "marketing"};

// The codec calls of each handler (api/routes_*.cc), exercised without the engine.
void ReadFieldsLikeHandlers(int endpoint, const json& body) {
  namespace api = vault::api;
  std::optional<std::string> s;
  std::optional<vault::UnixSeconds> t;
  std::optional<std::vector<std::string>> list;
  switch (endpoint) {
    case 0:
      (void)api::RejectUnknownFields(body, {"data", "event_time"});
      (void)api::ReadTime(body, "event_time", false, &t);
      break;
    case 1:
      (void)api::RejectUnknownFields(body, {"mode", "reason"});
      (void)api::ReadString(body, "mode", true, 16, &s);
      (void)api::ReadString(body, "reason", true, vault::kMaxReasonBytes, &s);
      break;
    case 2:
      (void)api::RejectUnknownFields(body, {"reason", "until"});
      (void)api::ReadString(body, "reason", true, vault::kMaxReasonBytes, &s);
      (void)api::ReadTime(body, "until", false, &t);
      break;
    default:
      (void)api::RejectUnknownFields(body, {"role", "purposes", "name"});
      (void)api::ReadString(body, "role", true, 16, &s);
      (void)api::ReadStringList(body, "purposes", false, api::kNoFieldLimit, api::kNoFieldLimit,
                                &list);
      (void)api::ReadString(body, "name", false, api::kNoFieldLimit, &s);
      break;
  }
  (void)api::DumpJson(body);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ApiFixture::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ApiFixture& fx = ApiFixture::Get();
  vault::fuzz::ByteCursor in(data, size);
  const std::uint8_t selector = in.U8();
  const int endpoint = selector & 3;
  // Erasures only ever hit subjects 4..7, so records of 0..3 stay writable all run long.
  const int subject = endpoint == 1 ? (((selector >> 2) & 7) | 4) : ((selector >> 2) & 7);
  const std::string sid = "subject-" + std::to_string(subject);
  const std::string category = kCategories[(selector >> 5) & 3];
  const bool as_admin = (selector & 0x80) != 0;
  const std::string body(vault::fuzz::AsText(in.Rest()));

  auto parsed = vault::api::ParseJsonObject(body);
  if (parsed.ok()) ReadFieldsLikeHandlers(endpoint, *parsed);

  vault::api::HttpRequest req;
  std::string token;
  switch (endpoint) {
    case 0:
      req.method = "PUT";
      req.target = "/v1/subjects/" + sid + "/records/" + category + "/r1";
      token = as_admin ? "admin" : "app";
      break;
    case 1:
      req.method = "POST";
      req.target = "/v1/subjects/" + sid + "/erasure";
      token = as_admin ? "admin" : "dpo";
      break;
    case 2:
      req.method = "POST";
      req.target = "/v1/subjects/" + sid + "/legal-holds";
      token = as_admin ? "admin" : "dpo";
      break;
    default:
      req.method = "POST";
      req.target = "/v1/tokens";
      token = "admin";
      break;
  }
  req.body = body;
  req.set_header("Authorization", "Bearer " + fx.tokens.at(token));
  req.set_header("Content-Type", "application/json");
  vault::api::HttpResponse res;
  fx.DispatchAndCheck(req, res);

  if (endpoint == 0 && (res.status == 200 || res.status == 201)) {
    // What was stored reads back as sent.
    VAULT_FUZZ_CHECK(parsed.ok());
    vault::api::HttpRequest get;
    get.method = "GET";
    get.target = req.target;
    get.set_header("Authorization", "Bearer " + fx.tokens.at(token));
    vault::api::HttpResponse got;
    fx.DispatchAndCheck(get, got);
    VAULT_FUZZ_CHECK(got.status == 200);
    const json record = json::parse(got.body, nullptr, false);
    VAULT_FUZZ_CHECK(record.is_object() && record.contains("data"));
    VAULT_FUZZ_CHECK(record["data"] == (*parsed)["data"]);
  }
  return 0;
}
