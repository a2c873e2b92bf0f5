// Strict request-body readers and response encoders for the HTTP API.
#include "api/json_codec.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace vault::api {
namespace {

using nlohmann::json;

// A field name is echoed in an error only when it looks like a schema name.
std::string FieldLabel(std::string_view name) {
  if (name.empty() || name.size() > 32) return "an unknown field";
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return "an unknown field";
  }
  return "unknown field '" + std::string(name) + "'";
}

// Depth of nested arrays/objects, scanning strings correctly; stops early past the limit.
bool DepthWithin(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

Status Missing(const char* field) {
  return InvalidArgument(std::string("missing required field '") + field + "'");
}

const json* Lookup(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

StatusOr<json> ParseJsonObject(std::string_view body) {
  if (body.empty()) return InvalidArgument("a JSON object body is required");
  if (!DepthWithin(body, kMaxJsonDepth)) {
    return InvalidArgument("request body nests deeper than " + std::to_string(kMaxJsonDepth));
  }
  // The strict checks (json_strict.h) in the same pass: an object that ends with fewer members
  // than keys were read in it repeated one (nlohmann keeps the last).
  std::vector<std::size_t> keys;  // keys read so far in each open object
  bool repeated = false;
  const json::parser_callback_t count = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      keys.push_back(0);
    } else if (event == json::parse_event_t::key && !keys.empty()) {
      ++keys.back();
    } else if (event == json::parse_event_t::object_end && !keys.empty()) {
      repeated = repeated || parsed.size() != keys.back();
      keys.pop_back();
    }
    return true;
  };
  json parsed = json::parse(body.begin(), body.end(), count, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!parsed.is_object()) return InvalidArgument("request body must be a JSON object");
  // nlohmann's lexer takes a NUL byte for the end of the input: what follows was not parsed.
  if (body.find('\0') != std::string_view::npos) {
    return InvalidArgument("request body contains a NUL byte");
  }
  if (repeated) return InvalidArgument("request body repeats a key in one object");
  return parsed;
}

Status RejectUnknownFields(const json& obj, std::initializer_list<std::string_view> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = false;
    for (std::string_view name : allowed) known = known || it.key() == name;
    if (!known) return InvalidArgument("request body has " + FieldLabel(it.key()));
  }
  return Status::Ok();
}

Status ReadString(const json& obj, const char* field, bool required, std::size_t max_bytes,
                  std::optional<std::string>* out) {
  out->reset();
  const json* v = Lookup(obj, field);
  if (v == nullptr) return required ? Missing(field) : Status::Ok();
  if (!v->is_string())
    return InvalidArgument(std::string("field '") + field + "' must be a string");
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    return InvalidArgument(std::string("field '") + field + "' is longer than " +
                           std::to_string(max_bytes) + " bytes");
  }
  *out = s;
  return Status::Ok();
}

Status ReadReasonBody(const json& body, std::size_t max_bytes, std::optional<std::string>* reason) {
  VAULT_RETURN_IF_ERROR(RejectUnknownFields(body, {"reason"}));
  VAULT_RETURN_IF_ERROR(ReadString(body, "reason", true, max_bytes, reason));
  if ((*reason)->empty()) return InvalidArgument("field 'reason' must not be empty");
  return Status::Ok();
}

Status ReadTime(const json& obj, const char* field, bool required,
                std::optional<UnixSeconds>* out) {
  out->reset();
  std::optional<std::string> text;
  VAULT_RETURN_IF_ERROR(ReadString(obj, field, required, 64, &text));
  if (!text) return Status::Ok();
  *out = ParseRfc3339(*text);
  if (!*out) {
    return InvalidArgument(std::string("field '") + field + "' must be an RFC 3339 time");
  }
  return Status::Ok();
}

Status ReadStringList(const json& obj, const char* field, bool required, std::size_t max_items,
                      std::size_t max_item_bytes, std::optional<std::vector<std::string>>* out) {
  out->reset();
  const json* v = Lookup(obj, field);
  if (v == nullptr) return required ? Missing(field) : Status::Ok();
  const std::string type_error = std::string("field '") + field + "' must be an array of strings";
  if (!v->is_array()) return InvalidArgument(type_error);
  if (v->size() > max_items) {
    return InvalidArgument(std::string("field '") + field + "' has more than " +
                           std::to_string(max_items) + " items");
  }
  std::vector<std::string> items;
  for (const json& item : *v) {
    if (!item.is_string()) return InvalidArgument(type_error);
    const auto& s = item.get_ref<const std::string&>();
    if (s.empty() || s.size() > max_item_bytes) {
      return InvalidArgument(std::string("field '") + field + "' has an empty or over-long item");
    }
    items.push_back(s);
  }
  *out = std::move(items);
  return Status::Ok();
}

std::string DumpJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json TimeJson(UnixSeconds t) { return FormatRfc3339(t); }

json RetainUntilJson(UnixSeconds t) { return t == 0 ? json(nullptr) : TimeJson(t); }

json OptionalTimeJson(const std::optional<UnixSeconds>& t) {
  return t ? TimeJson(*t) : json(nullptr);
}

json RecordJson(const RecordView& r) {
  json j = {
      {"subject_id", r.subject_id},
      {"category", r.category},
      {"record_id", r.record_id},
      {"version", r.version},
      {"data", json::parse(r.data_json, nullptr, false)},
      {"created_at", TimeJson(r.created_at)},
      {"updated_at", TimeJson(r.updated_at)},
      {"retain_until", RetainUntilJson(r.retain_until)},
  };
  if (r.event_time) j["event_time"] = TimeJson(*r.event_time);
  return j;
}

void AppendJsonString(std::string_view s, std::string* out) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    *out += DumpJson(json(std::string(s)));
    return;
  }
  out->push_back('"');
  out->append(s);
  out->push_back('"');
}

std::string RecordJsonText(const RecordView& r) {
  std::string out;
  out.reserve(256 + r.data_json.size());
  out += "{\"subject_id\":";
  AppendJsonString(r.subject_id, &out);
  out += ",\"category\":";
  AppendJsonString(r.category, &out);
  out += ",\"record_id\":";
  AppendJsonString(r.record_id, &out);
  out += ",\"version\":";
  out += std::to_string(r.version);
  out += ",\"created_at\":";
  AppendJsonString(FormatRfc3339(r.created_at), &out);
  out += ",\"updated_at\":";
  AppendJsonString(FormatRfc3339(r.updated_at), &out);
  out += ",\"retain_until\":";
  if (r.retain_until == 0) {
    out += "null";
  } else {
    AppendJsonString(FormatRfc3339(r.retain_until), &out);
  }
  if (r.event_time) {
    out += ",\"event_time\":";
    AppendJsonString(FormatRfc3339(*r.event_time), &out);
  }
  out += ",\"data\":";
  out += r.data_json;
  out += '}';
  return out;
}

json PutResultJson(const std::string& subject_id, const std::string& category,
                   const std::string& record_id, const PutResult& r) {
  return {
      {"subject_id", subject_id},
      {"category", category},
      {"record_id", record_id},
      {"version", r.version},
      {"retain_until", RetainUntilJson(r.retain_until)},
  };
}

json HoldJson(const HoldView& h) {
  return {
      {"hold_id", h.hold_id},
      {"reason", h.reason},
      {"placed_at", TimeJson(h.placed_at)},
      {"until", OptionalTimeJson(h.until)},
  };
}

json ErasureJson(const ErasureView& e) {
  return {
      {"erasure_id", e.erasure_id},
      {"state", e.state},
      {"mode", e.mode},
      {"requested_at", TimeJson(e.requested_at)},
      {"execute_at", TimeJson(e.execute_at)},
      {"completed_at", OptionalTimeJson(e.completed_at)},
      {"blocked_by_hold", e.blocked_by_hold},
      {"receipt",
       e.receipt_json.empty() ? json(nullptr) : json::parse(e.receipt_json, nullptr, false)},
  };
}

json SubjectJson(const SubjectSummary& s, bool privileged) {
  json categories = json::array();
  for (const auto& [name, count] : s.records_by_category) {
    categories.push_back({{"category", name}, {"records", count}});
  }
  json holds = json::array();
  for (const HoldView& h : s.legal_holds) {
    holds.push_back(HoldJson(h));
    if (!privileged) holds.back().erase("reason");
  }
  json j = {
      {"subject_id", s.subject_id},
      {"state", SubjectStateName(s.state)},
      {"categories", std::move(categories)},
      {"restricted", s.restricted},
      {"legal_holds", std::move(holds)},
      {"erasure", s.erasure ? ErasureJson(*s.erasure) : json(nullptr)},
  };
  json objections = json::array();
  for (const ObjectionView& o : s.objections) objections.push_back(ObjectionJson(o));
  j["objections"] = std::move(objections);
  // The restriction's reason and start are for dpo and admin, as hold reasons are.
  if (privileged && s.restricted) {
    j["restriction"] = {{"since", OptionalTimeJson(s.restricted_since)},
                        {"reason", s.restriction_reason}};
  }
  return j;
}

json ConsentJson(const ConsentView& c) {
  json history = json::array();
  for (const ConsentEntry& e : c.history) {
    history.push_back({{"at", TimeJson(e.at)},
                       {"granted", e.granted},
                       {"source", e.source},
                       {"policy_version", e.policy_version},
                       {"recorded_by", e.recorded_by}});
  }
  return {{"purpose", c.purpose},
          {"granted", c.granted},
          {"at", TimeJson(c.at)},
          {"proof_until", OptionalTimeJson(c.proof_until)},
          {"history", std::move(history)}};
}

json ObjectionJson(const ObjectionView& o) {
  json j = {{"purpose", o.purpose}, {"since", TimeJson(o.since)}};
  if (!o.reason.empty()) j["reason"] = o.reason;
  return j;
}

json RestrictionJson(const RestrictionView& r) {
  return {{"restricted", r.restricted},
          {"since", OptionalTimeJson(r.since)},
          {"reason", r.restricted ? json(r.reason) : json(nullptr)}};
}

namespace {

json RetentionJson(const Retention& r) {
  json out;
  switch (r.kind) {
    case Retention::Kind::kUntilErasure:
      return "until_erasure";
    case Retention::Kind::kAfterEvent:
      out = {{"after_event", r.period.ToString()}};
      if (!r.event.empty()) out["event"] = r.event;
      break;
    case Retention::Kind::kAfterCollection:
      out = {{"after_collection", r.period.ToString()}};
      break;
    case Retention::Kind::kAfterLastActivity:
      out = {{"after_last_activity", r.period.ToString()}};
      break;
    case Retention::Kind::kAfterFirstCollection:
      out = {{"after_first_collection", r.period.ToString()}};
      break;
  }
  if (r.or_until_consent_withdrawn) out["or_until"] = "consent_withdrawn";
  return out;
}

// The category's legal bases, transforms and minimisation rules (policy format 1 additions).
void AddWriteRulesJson(const Category& c, json* cat) {
  json bases = json::array();
  for (const LegalBasis b : c.legal_bases) bases.push_back(LegalBasisName(b));
  (*cat)["legal_bases"] = std::move(bases);
  if (!c.transforms.empty()) {
    json t = json::object();
    for (const auto& [field, transform] : c.transforms) t[field] = FieldTransformName(transform);
    (*cat)["transforms"] = std::move(t);
  }
  if (!c.forbid.empty()) {
    json f = json::array();
    for (const ForbiddenData d : c.forbid) f.push_back(ForbiddenDataName(d));
    (*cat)["forbid"] = std::move(f);
  }
}

}  // namespace

json PolicyJson(const Policy& p) {
  json categories = json::object();
  for (const auto& [name, c] : p.categories) {
    json index = json::object();
    for (const IndexedField& f : c.index) {
      index[f.name] = {{"unique", f.unique}, {"normalize", IndexKindName(f.kind)}};
    }
    json cat = {
        {"legal_basis", LegalBasisName(c.legal_basis)},
        {"purposes", c.purposes},
        {"retention", RetentionJson(c.retention)},
        {"survives_erasure", c.survives_erasure},
        {"index", std::move(index)},
    };
    if (c.consent_purpose) cat["consent_purpose"] = *c.consent_purpose;
    if (c.on_consent_withdrawal) cat["on_consent_withdrawal"] = c.on_consent_withdrawal->ToString();
    if (!c.description.empty()) cat["description"] = c.description;
    AddWriteRulesJson(c, &cat);
    cat["recipients"] = c.recipients;
    categories[name] = std::move(cat);
  }
  return {
      {"version", p.version},
      {"erasure", {{"grace", p.erasure_grace.ToString()}}},
      {"keys", {{"epoch", p.epoch.ToString()}, {"horizon", p.horizon.ToString()}}},
      {"passwords",
       {{"argon2id",
         {{"memory_kib", p.argon2.memory_kib},
          {"iterations", p.argon2.iterations},
          {"parallelism", p.argon2.parallelism}}},
        {"min_length", p.passwords.min_length},
        {"pepper", p.passwords.pepper},
        {"category", p.passwords.category}}},
      {"audit", {{"retention", p.audit_retention.ToString()}}},
      {"consents", {{"proof_retention", p.consent_proof_retention.ToString()}}},
      {"requests", {{"respond_within", p.request_response.ToString()}}},
      {"cipher", p.cipher},
      {"source_sha256", p.source_sha256},
      {"stated", p.stated},
      {"categories", std::move(categories)},
  };
}

json AuditEntryJson(const AuditEntry& e) {
  return {
      {"seq", e.seq},         {"at", TimeJson(e.at)},         {"actor", e.actor},
      {"action", e.action},   {"subject_ref", e.subject_ref}, {"category", e.category},
      {"outcome", e.outcome}, {"purpose", e.purpose},         {"hash", e.hash},
  };
}

json NewTokenJson(const NewToken& t) {
  return {{"token_id", t.info.token_id},
          {"token", t.secret},
          {"role", RoleName(t.info.role)},
          {"purposes", t.info.purposes}};
}

json RotationJson(const RotationResult& r) {
  return {{"epoch", r.epoch}, {"rewrapped", r.rewrapped}, {"destroyed_epochs", r.destroyed_epochs}};
}

json SweepJson(const SweepResult& r) {
  return {{"erasures_executed", r.erasures_executed},
          {"scopes_shredded", r.scopes_shredded},
          {"records_collected", r.records_collected},
          {"consent_withdrawals_executed", r.consent_withdrawals_executed},
          {"consent_proofs_shredded", r.consent_proofs_shredded},
          {"epoch_rotated", r.epoch_rotated},
          {"destroyed_epochs", r.destroyed_epochs},
          {"audit_entries_trimmed", r.audit_entries_trimmed}};
}

json AuditVerifyJson(const AuditVerifyResult& r) {
  json j = {{"ok", r.ok},
            {"entries", r.entries},
            {"head", r.head},
            {"from_seq", r.from_seq},
            {"checkpoints", r.checkpoints}};
  if (r.first_bad_seq) {
    j["first_bad_seq"] = *r.first_bad_seq;
    j["problem"] = r.problem;
  }
  return j;
}

json AuditCheckpointJson(const AuditCheckpoint& cp) {
  // Exactly the signed fields plus the signature: drop "signature", serialise the rest as
  // RFC 8785 JSON, and the signature verifies over those bytes.
  return {{"type", "lethe.audit.checkpoint"},
          {"seq", cp.seq},
          {"at", TimeJson(cp.at)},
          {"head", cp.head},
          {"key_id", cp.key_id},
          {"signature", cp.signature}};
}

json BackupManifestJson(const BackupManifest& m) {
  return {{"path", m.path},
          {"epoch", m.epoch},
          {"epochs_needed", m.epochs_needed},
          {"created_at", TimeJson(m.created_at)},
          {"readable_until", TimeJson(m.readable_until)},
          {"unreadable_after", TimeJson(m.unreadable_after)},
          {"policy_sha256", m.policy_sha256},
          {"sha256", m.sha256}};
}

}  // namespace vault::api
