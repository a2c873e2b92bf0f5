// The API's one JSON codec: strict readers for request bodies and writers for engine views.
// Readers name the offending field in their errors, never its value.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vault/vault.h"

namespace vault::api {

// Largest nesting of arrays/objects accepted in a request body (serializers recurse).
inline constexpr std::size_t kMaxJsonDepth = 64;
// For readers of fields whose rule lives elsewhere (vault/rules.h): only the body limit bounds it.
inline constexpr std::size_t kNoFieldLimit = std::numeric_limits<std::size_t>::max();

// Parses a request body that must be one JSON object, refusing what CheckStrictJson
// (json_strict.h) refuses, in one pass. Errors are kInvalidArgument and never quote the input.
StatusOr<nlohmann::json> ParseJsonObject(std::string_view body);

// REQUIRES: obj.is_object(). Refuses fields outside `allowed`.
Status RejectUnknownFields(const nlohmann::json& obj,
                           std::initializer_list<std::string_view> allowed);

// Each reader leaves *out empty when the field is absent or null and !required.
Status ReadString(const nlohmann::json& obj, const char* field, bool required,
                  std::size_t max_bytes, std::optional<std::string>* out);
Status ReadTime(const nlohmann::json& obj, const char* field, bool required,
                std::optional<UnixSeconds>* out);
// A body that is {"reason": "<1..max_bytes>"} and nothing else (restriction, objection,
// extending a request): the reason in *reason, or the problem.
Status ReadReasonBody(const nlohmann::json& body, std::size_t max_bytes,
                      std::optional<std::string>* reason);
Status ReadStringList(const nlohmann::json& obj, const char* field, bool required,
                      std::size_t max_items, std::size_t max_item_bytes,
                      std::optional<std::vector<std::string>>* out);

// Serializes for a response body; invalid UTF-8 is replaced, never thrown on.
std::string DumpJson(const nlohmann::json& j);
// Appends s as a JSON string literal, as DumpJson would write it. Plain printable ASCII (ids,
// categories, times, route patterns) is copied without building a JSON value.
void AppendJsonString(std::string_view s, std::string* out);

nlohmann::json TimeJson(UnixSeconds t);         // RFC 3339 string
nlohmann::json RetainUntilJson(UnixSeconds t);  // null when 0 (until erasure)
nlohmann::json OptionalTimeJson(const std::optional<UnixSeconds>& t);

nlohmann::json RecordJson(const RecordView& r);
// The same object as text, with the data spliced in from r.data_json, so the record's data
// is never parsed or re-encoded.
std::string RecordJsonText(const RecordView& r);
nlohmann::json PutResultJson(const std::string& subject_id, const std::string& category,
                             const std::string& record_id, const PutResult& r);
nlohmann::json HoldJson(const HoldView& h);
nlohmann::json ErasureJson(const ErasureView& e);
// privileged false (an app token): holds without their `reason` (the engine left the
// categories of other purposes and the receipt out already).
nlohmann::json SubjectJson(const SubjectSummary& s, bool privileged = true);
nlohmann::json PolicyJson(const Policy& p);
// {"purpose","granted","at","proof_until","history":[{"at","granted","source",
// "policy_version","recorded_by"}]}
nlohmann::json ConsentJson(const ConsentView& c);
// {"restricted","since","reason"} (since and reason null when not restricted)
nlohmann::json RestrictionJson(const RestrictionView& r);
// {purpose, since, reason}; reason omitted when empty (an app's view, an erased subject).
nlohmann::json ObjectionJson(const ObjectionView& o);
nlohmann::json AuditEntryJson(const AuditEntry& e);

// Results of operations that both the HTTP API and the CLI's --json print.
// A new token: token_id, the secret (shown once), role and purposes.
nlohmann::json NewTokenJson(const NewToken& t);
nlohmann::json RotationJson(const RotationResult& r);
nlohmann::json SweepJson(const SweepResult& r);
nlohmann::json AuditVerifyJson(const AuditVerifyResult& r);
nlohmann::json AuditCheckpointJson(const AuditCheckpoint& cp);
nlohmann::json BackupManifestJson(const BackupManifest& m);

}  // namespace vault::api
