// The log of data-subject requests (requests.h).
#include "vault/requests.h"

#include <algorithm>
#include <array>
#include <tuple>

#include "crypto/primitives.h"
#include "vault/codec.h"
#include "vault/rules.h"

namespace vault {
namespace {

constexpr std::array<const char*, 6> kKinds = {"access",      "rectification", "erasure",
                                               "restriction", "objection",     "portability"};
constexpr std::array<const char*, 4> kStates = {"received", "extended", "done", "refused"};
enum State : std::uint8_t { kReceived = 0, kExtended = 1, kDone = 2, kRefused = 3 };
// Art. 12(3): one month from receipt, extendable by two further months.
constexpr Duration kMonth{1, Duration::Unit::kMonths};
constexpr Duration kTwoMonths{2, Duration::Unit::kMonths};
constexpr Duration kThreeMonths{3, Duration::Unit::kMonths};

std::optional<std::uint8_t> KindCode(const std::string& kind) {
  for (std::size_t i = 0; i < kKinds.size(); ++i) {
    if (kind == kKinds[i]) return static_cast<std::uint8_t>(i);
  }
  return std::nullopt;
}

bool IsOpen(std::uint8_t state) { return state == kReceived || state == kExtended; }

}  // namespace

struct Requests::Row {
  Uid uid{};
  std::uint8_t kind = 0;
  std::uint8_t state = kReceived;
  UnixSeconds received_at = 0;
  UnixSeconds due_at = 0;
  UnixSeconds closed_at = 0;  // 0 while open
  std::string closed_by;
  std::vector<std::uint8_t> subject_id, extension_reason, close_reason;  // sealed

  std::string Encode() const {
    const auto b = RowWriter()
                       .Bytes(uid)
                       .U8(kind)
                       .U8(state)
                       .I64(received_at)
                       .I64(due_at)
                       .I64(closed_at)
                       .Str(closed_by)
                       .Bytes(subject_id)
                       .Bytes(extension_reason)
                       .Bytes(close_reason)
                       .Take();
    return {b.begin(), b.end()};
  }
  bool Decode(std::string_view v) {
    RowReader rd(crypto::AsBytes(v));
    std::vector<std::uint8_t> u;
    if (!(rd.Bytes(&u) && u.size() == uid.size() && rd.U8(&kind) && rd.U8(&state) &&
          rd.I64(&received_at) && rd.I64(&due_at) && rd.I64(&closed_at) && rd.Str(&closed_by) &&
          rd.Bytes(&subject_id) && rd.Bytes(&extension_reason) && rd.Bytes(&close_reason) &&
          rd.AtEnd())) {
      return false;
    }
    std::copy(u.begin(), u.end(), uid.begin());
    return kind < kKinds.size() && state < kStates.size();
  }
};

Status Requests::Refused(const Actor& actor, const char* action, const Status& s) const {
  p_.audit.AppendAsync(actor, action, std::nullopt, "", s.code());
  return s;
}

UnixSeconds Requests::DueAt(UnixSeconds received, bool extended) const {
  const UnixSeconds due =
      std::min(p_.policy.request_response.AddTo(received), kMonth.AddTo(received));
  if (!extended) return due;
  return std::min(kTwoMonths.AddTo(due), kThreeMonths.AddTo(received));
}

Requests::View Requests::ToView(const std::string& id, const Row& row, UnixSeconds now) const {
  View v;
  v.request_id = id;
  v.subject_id = p_.sealer.Open("request.subject", id, row.subject_id);
  v.kind = kKinds[row.kind];
  v.state = kStates[row.state];
  v.received_at = row.received_at;
  v.due_at = row.due_at;
  v.overdue = IsOpen(row.state) && now > row.due_at;
  if (row.closed_at != 0) v.closed_at = row.closed_at;
  v.closed_by = row.closed_by;
  v.extension_reason = p_.sealer.Open("request.extension", id, row.extension_reason);
  v.close_reason = p_.sealer.Open("request.close", id, row.close_reason);
  return v;
}

StatusOr<Requests::View> Requests::Log(const Actor& actor, const std::string& subject_id,
                                       const std::string& kind,
                                       std::optional<UnixSeconds> received_at) {
  const UnixSeconds now = p_.clock.Now();
  Status valid = CheckId("subject id", subject_id);
  const auto code = KindCode(kind);
  if (valid.ok() && !code) {
    valid = InvalidArgument(
        "kind must be access, rectification, erasure, restriction, objection or portability");
  }
  if (valid.ok() && received_at && *received_at > now) {
    valid = InvalidArgument("received_at must not be in the future");
  }
  if (!valid.ok()) return Refused(actor, "request.log", valid);
  const std::string id = crypto::ToHex(crypto::RandomArray<16>());
  Row row;
  row.kind = *code;
  row.received_at = received_at.value_or(now);
  row.due_at = DueAt(row.received_at, false);
  row.subject_id = p_.sealer.Seal("request.subject", id, subject_id);
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  Status s = p_.store.Write([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.Get(txn, pseudonym));
    if (subject.state == StoredState::kErased) return Status(Code::kGone, "the subject is erased");
    row.uid = subject.uid;
    const std::string key = Bytes(*crypto::FromHex(id));
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kRequests, key, row.Encode()));
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kRequestsBySubject, Bytes(row.uid) + key, ""));
    return p_.audit.Append(txn, actor, "request.log", &row.uid, "", "ok");
  });
  if (!s.ok()) {
    p_.audit.AppendAsync(actor, "request.log", p_.subjects.UidOf(p_.store, subject_id), "",
                         s.code());
    return s;
  }
  return ToView(id, row, now);
}

StatusOr<Requests::View> Requests::Change(const Actor& actor, const char* action,
                                          const std::string& request_id,
                                          const std::function<Status(Row&, UnixSeconds)>& change) {
  const auto raw = crypto::FromHex(request_id);
  if (!raw || raw->size() != 16) {
    return Refused(actor, action, NotFound("no such request"));
  }
  const std::string key = Bytes(*raw);
  Row row;
  UnixSeconds now = 0;
  Status s = p_.store.Write([&](Txn& txn) -> Status {
    now = p_.clock.Now();
    auto v = txn.Get(Table::kRequests, key);
    if (!v) return NotFound("no such request");
    if (!row.Decode(*v)) return DataLoss("a request row is corrupt");
    VAULT_RETURN_IF_ERROR(change(row, now));
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kRequests, key, row.Encode()));
    return p_.audit.Append(txn, actor, action, &row.uid, "", "ok");
  });
  if (!s.ok()) return Refused(actor, action, s);
  return ToView(request_id, row, now);
}

StatusOr<Requests::View> Requests::Extend(const Actor& actor, const std::string& request_id,
                                          const std::string& reason) {
  if (reason.empty() || reason.size() > kMaxReasonBytes) {
    return Refused(
        actor, "request.extend",
        InvalidArgument("reason must be 1.." + std::to_string(kMaxReasonBytes) + " bytes"));
  }
  return Change(actor, "request.extend", request_id, [&](Row& row, UnixSeconds now) -> Status {
    if (row.state == kExtended) return Conflict("the request has been extended already");
    if (!IsOpen(row.state)) return Conflict("the request is closed");
    // Art. 12(3): the subject is told of an extension within the first month.
    if (now > row.due_at) return Conflict("an extension must be made within the first month");
    row.state = kExtended;
    row.due_at = DueAt(row.received_at, true);
    row.extension_reason = p_.sealer.Seal("request.extension", request_id, reason);
    return Status::Ok();
  });
}

StatusOr<Requests::View> Requests::Close(const Actor& actor, const std::string& request_id,
                                         bool refused, const std::string& reason) {
  if ((refused && reason.empty()) || reason.size() > kMaxReasonBytes) {
    return Refused(
        actor, "request.close",
        InvalidArgument(
            refused ? "a refusal needs a reason of 1.." + std::to_string(kMaxReasonBytes) + " bytes"
                    : "reason is longer than " + std::to_string(kMaxReasonBytes) + " bytes"));
  }
  return Change(actor, "request.close", request_id, [&](Row& row, UnixSeconds now) -> Status {
    if (!IsOpen(row.state)) return Conflict("the request is closed");
    row.state = refused ? kRefused : kDone;
    row.closed_at = now;
    row.closed_by = actor.id;
    if (!reason.empty()) row.close_reason = p_.sealer.Seal("request.close", request_id, reason);
    return Status::Ok();
  });
}

StatusOr<Requests::View> Requests::Get(const Actor& actor, const std::string& request_id) const {
  const auto raw = crypto::FromHex(request_id);
  View view;
  std::optional<Uid> uid;
  Status s = p_.store.Read([&](Txn& txn) -> Status {
    auto v = raw && raw->size() == 16 ? txn.Get(Table::kRequests, Bytes(*raw)) : std::nullopt;
    if (!v) return NotFound("no such request");
    Row row;
    if (!row.Decode(*v)) return DataLoss("a request row is corrupt");
    uid = row.uid;
    view = ToView(request_id, row, p_.clock.Now());
    return Status::Ok();
  });
  p_.audit.AppendAsync(actor, "request.get", uid, "", s.code());
  if (!s.ok()) return s;
  return view;
}

StatusOr<std::vector<Requests::View>> Requests::List(const Actor& actor, bool open_only) const {
  std::vector<View> out;
  const UnixSeconds now = p_.clock.Now();
  Status s = p_.store.Read([&](Txn& txn) -> Status {
    Status corrupt;
    VAULT_RETURN_IF_ERROR(
        txn.ScanPrefix(Table::kRequests, "", [&](std::string_view k, std::string_view v) {
          Row row;
          if (!row.Decode(v)) {
            corrupt = DataLoss("a request row is corrupt");
            return false;
          }
          if (!open_only || IsOpen(row.state)) {
            out.push_back(ToView(crypto::ToHex(crypto::AsBytes(k)), row, now));
          }
          return true;
        }));
    return corrupt;
  });
  p_.audit.AppendAsync(actor, "request.list", std::nullopt, "", s.code());
  if (!s.ok()) return s;
  std::sort(out.begin(), out.end(), [](const View& a, const View& b) {
    return std::tie(a.received_at, a.request_id) < std::tie(b.received_at, b.request_id);
  });
  return out;
}

Status Requests::Complete(Txn& txn, const Uid& uid, const std::vector<std::string>& kinds,
                          const std::string& by, bool erased) {
  std::vector<std::string> keys;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kRequestsBySubject, Bytes(uid), [&](std::string_view k, auto) {
        keys.emplace_back(k.substr(uid.size()));
        return true;
      }));
  const UnixSeconds now = p_.clock.Now();
  for (const std::string& key : keys) {
    auto v = txn.Get(Table::kRequests, key);
    Row row;
    if (!v || !row.Decode(*v)) return DataLoss("a request row is corrupt or missing");
    const bool match = std::find(kinds.begin(), kinds.end(), kKinds[row.kind]) != kinds.end();
    if (!(match && IsOpen(row.state)) && !erased) continue;
    if (match && IsOpen(row.state)) {
      row.state = kDone;
      row.closed_at = now;
      row.closed_by = by;
    }
    if (erased) row.subject_id.clear();
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kRequests, key, row.Encode()));
  }
  return Status::Ok();
}

void Requests::CompleteAsync(const Uid& uid, std::vector<std::string> kinds, std::string by) {
  p_.store.WriteAsync([this, uid, kinds = std::move(kinds), by = std::move(by)](Txn& txn) {
    return Complete(txn, uid, kinds, by, false);
  });
}

Status Requests::AddToReport(const Txn& txn, UnixSeconds now, ComplianceReport* report) const {
  PendingFigures& f = report->pending["requests"];
  Status corrupt;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kRequests, "", [&](std::string_view k, std::string_view v) {
        Row row;
        if (!row.Decode(v)) {
          corrupt = DataLoss("a request row is corrupt");
          return false;
        }
        if (!IsOpen(row.state)) return true;
        ++f.pending;
        if (now > row.due_at) {
          ++f.overdue;
          f.overdue_ids.push_back(crypto::ToHex(crypto::AsBytes(k)));
        }
        return true;
      }));
  return corrupt;
}

}  // namespace vault
