// A subject's export, streamed: the head sections from one snapshot, then the records of
// each policy category a page at a time, each page in a read transaction of its own.
#include "vault/exporter.h"

#include <utility>

namespace vault {

using nlohmann::json;

namespace {

json TimeOrNull(std::optional<UnixSeconds> t) {
  return t ? json(FormatRfc3339(*t)) : json(nullptr);
}

json CategoryJson(const Category& c) {
  json j = {{"category", c.name},
            {"description", c.description},
            {"legal_basis", LegalBasisName(c.legal_basis)},
            {"purposes", c.purposes},
            {"retention", c.retention.ToString()},
            {"survives_erasure", c.survives_erasure},
            {"recipients", c.recipients}};
  if (c.consent_purpose) j["consent_purpose"] = *c.consent_purpose;
  if (c.on_consent_withdrawal) j["on_consent_withdrawal"] = c.on_consent_withdrawal->ToString();
  return j;
}

json ErasureJson(const ErasureView& e) {
  json j = {{"erasure_id", e.erasure_id},
            {"state", e.state},
            {"mode", e.mode},
            {"requested_at", FormatRfc3339(e.requested_at)},
            {"execute_at", FormatRfc3339(e.execute_at)},
            {"completed_at", TimeOrNull(e.completed_at)},
            {"blocked_by_hold", e.blocked_by_hold}};
  if (!e.receipt_json.empty()) j["receipt"] = json::parse(e.receipt_json, nullptr, false);
  return j;
}

}  // namespace

// The stream of one export: where it stands in the document between calls of Next.
class SubjectExport final : public ExportStream {
 public:
  SubjectExport(const Exporter& exporter, Actor actor, Uid uid, std::unique_ptr<ExportWriter> out)
      : x_(exporter), actor_(std::move(actor)), uid_(uid), out_(std::move(out)) {
    for (const auto& [name, cat] : x_.p_.policy.categories) categories_.push_back(name);
  }

  StatusOr<bool> Next(std::string* piece) override {
    if (!failed_.ok()) return failed_;
    while (out_->buffer().empty() && !ended_) {
      if (Status s = Advance(); !s.ok()) {
        failed_ = s;
        x_.p_.audit.AppendAsync(actor_, "subject.export", uid_, "", s.code());
        return s;
      }
    }
    if (out_->buffer().empty()) return false;
    piece->append(out_->buffer());
    out_->buffer().clear();
    return true;
  }

 private:
  // Writes the next page of records, or closes the document after the last one.
  Status Advance() {
    if (next_category_ == categories_.size()) {
      out_->EndList();
      out_->End();
      ended_ = true;
      x_.p_.requests.CompleteAsync(uid_, {"access", "portability"}, "export");
      return Status::Ok();
    }
    const std::string& category = categories_[next_category_];
    RecordPage page;
    VAULT_RETURN_IF_ERROR(x_.p_.store.Read([&](Txn& txn) {
      return x_.p_.records.PageOf(txn, uid_, category, cursor_, x_.page_records_, &page);
    }));
    for (const RecordView& r : page.records) out_->Record(r);
    if (page.next) {
      cursor_ = std::move(*page.next);
    } else {
      cursor_.clear();
      ++next_category_;
    }
    return Status::Ok();
  }

  const Exporter& x_;
  const Actor actor_;
  const Uid uid_;
  std::unique_ptr<ExportWriter> out_;
  std::vector<std::string> categories_;
  std::size_t next_category_ = 0;
  std::string cursor_;  // the page cursor within categories_[next_category_]
  bool ended_ = false;
  Status failed_;
};

Status Exporter::WriteHead(const Txn& txn, const ExportSubject& subject, ExportWriter& out) const {
  const SubjectRow& row = subject.row;
  out.Object("subject", {{"subject_id", subject.subject_id},
                         {"state", SubjectStateName(PublicState(row.state))},
                         {"restricted", row.restricted},
                         {"created_at", FormatRfc3339(row.created_at)}});
  const std::optional<ErasureView> erasure = p_.erasures.Of(txn, row);
  out.Object("erasure", erasure ? ErasureJson(*erasure) : json(nullptr));
  VAULT_ASSIGN_OR_RETURN(std::vector<HoldView> holds, p_.holds.List(txn, row.uid, true));
  out.BeginList("legal_holds");
  for (const HoldView& h : holds) {
    out.Item(h.hold_id, {{"hold_id", h.hold_id},
                         {"reason", h.reason},
                         {"placed_at", FormatRfc3339(h.placed_at)},
                         {"until", TimeOrNull(h.until)}});
  }
  out.EndList();
  out.BeginList("categories");
  for (const auto& [name, cat] : p_.policy.categories) out.Item(name, CategoryJson(cat));
  out.EndList();
  for (const ExportSection* section : sections_) {
    VAULT_RETURN_IF_ERROR(section->WriteExport(txn, subject, out));
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<ExportStream>> Exporter::Start(const Actor& actor,
                                                        const std::string& subject_id,
                                                        ExportFormat format) const {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  if (actor.role != Role::kDpo && actor.role != Role::kAdmin) {
    const Status denied(Code::kPermissionDenied, "only dpo and admin tokens may export");
    p_.audit.AppendAsync(actor, "subject.export", p_.subjects.UidOf(p_.store, subject_id), "",
                         denied.code());
    return denied;
  }
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  const UnixSeconds now = p_.clock.Now();
  std::unique_ptr<ExportWriter> out = MakeExportWriter(format, now);
  std::optional<Uid> uid;
  Status s = p_.store.Read([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow row, p_.subjects.Get(txn, pseudonym));
    uid = row.uid;
    return WriteHead(txn, ExportSubject{row, subject_id, now}, *out);
  });
  p_.audit.AppendAsync(actor, "subject.export", uid, "", s.code());
  if (!s.ok()) return s;
  out->BeginList("records");
  return std::unique_ptr<ExportStream>(
      std::make_unique<SubjectExport>(*this, actor, *uid, std::move(out)));
}

}  // namespace vault
