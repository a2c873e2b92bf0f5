// The Vault facade: each call goes to the part that owns it (vault_impl.h).
#include "vault/vault.h"

#include "crypto/primitives.h"
#include "vault/receipt.h"
#include "vault/vault_impl.h"

namespace vault {

const char* SubjectStateName(SubjectState s) {
  switch (s) {
    case SubjectState::kActive:
      return "active";
    case SubjectState::kErasurePending:
      return "erasure_pending";
    case SubjectState::kErased:
      return "erased";
  }
  return "unknown";
}

std::optional<ExportFormat> ParseExportFormat(const std::string& name) {
  if (name == "json") return ExportFormat::kJson;
  if (name == "csv") return ExportFormat::kCsv;
  if (name == "xml") return ExportFormat::kXml;
  return std::nullopt;
}

Vault::Vault(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
// A vault that closes signs the audit log's head, so entries written since the last
// checkpoint do not wait for the next process to be covered (best effort: close cannot fail).
Vault::~Vault() {
  if (impl_ && impl_->store) (void)impl_->audit->Checkpoint(AuditCheckpoints::When::kNow);
}

StatusOr<std::unique_ptr<Vault>> Vault::Open(const Options& options) {
  VAULT_ASSIGN_OR_RETURN(auto impl, Impl::Open(options));
  return std::unique_ptr<Vault>(new Vault(std::move(impl)));
}

const Policy& Vault::policy() const { return impl_->policy; }

StatusOr<PutResult> Vault::PutRecord(const Actor& actor, const std::string& subject_id,
                                     const std::string& category, const std::string& record_id,
                                     const nlohmann::json& data,
                                     std::optional<UnixSeconds> event_time) {
  return impl_->records->Put(actor, subject_id, category, record_id, data, event_time);
}

StatusOr<RecordView> Vault::GetRecord(const Actor& actor, const std::string& subject_id,
                                      const std::string& category, const std::string& record_id,
                                      ReadOptions opts) {
  return impl_->records->Get(actor, subject_id, category, record_id, opts);
}

StatusOr<std::vector<RecordView>> Vault::ListRecords(const Actor& actor,
                                                     const std::string& subject_id,
                                                     const std::string& category,
                                                     ReadOptions opts) {
  return impl_->records->List(actor, subject_id, category, opts);
}

StatusOr<RecordPage> Vault::ListRecords(const Actor& actor, const std::string& subject_id,
                                        const std::string& category, const PageRequest& page,
                                        ReadOptions opts) {
  return impl_->records->ListPage(actor, subject_id, category, page, opts);
}

Status Vault::DeleteRecord(const Actor& actor, const std::string& subject_id,
                           const std::string& category, const std::string& record_id) {
  return impl_->records->Delete(actor, subject_id, category, record_id);
}

StatusOr<Vault::LookupResult> Vault::Lookup(const Actor& actor, const LookupQuery& query) {
  return impl_->lookup->Find(actor, query);
}

StatusOr<SubjectSummary> Vault::GetSubject(const Actor& actor, const std::string& subject_id,
                                           const SummaryOptions& opts) {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  Impl& v = *impl_;
  const std::string pseudonym = v.subjects->Pseudonym(subject_id);
  SubjectSummary sum;
  sum.subject_id = subject_id;
  std::optional<Uid> uid;
  Status s = v.store->Read([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, v.subjects->Get(txn, pseudonym));
    uid = subject.uid;
    sum.state = PublicState(subject.state);
    sum.restricted = subject.restricted;
    if (opts.privileged && subject.restricted) {
      const RestrictionView r = v.restrictions->Of(txn, subject, true);
      sum.restricted_since = r.since;
      sum.restriction_reason = r.reason;
    }
    for (const auto& [name, cat] : v.policy.categories) {
      if (!opts.privileged && !v.policy.PurposeAllows(cat, opts.purposes)) continue;
      VAULT_ASSIGN_OR_RETURN(sum.records_by_category[name],
                             v.records->CountLive(txn, subject.uid, name));
    }
    VAULT_ASSIGN_OR_RETURN(sum.legal_holds, v.holds->List(txn, subject.uid, opts.privileged));
    sum.erasure = v.erasures->Of(txn, subject);
    VAULT_ASSIGN_OR_RETURN(sum.objections, v.objections->Of(txn, subject.uid, opts.privileged));
    // An app sees the objections to its own purposes: the ones that refuse it.
    if (!opts.privileged) {
      std::erase_if(sum.objections, [&](const ObjectionView& o) {
        return std::find(opts.purposes.begin(), opts.purposes.end(), o.purpose) ==
               opts.purposes.end();
      });
    }
    // The receipt names the subject_ref, which links the subject to the audit log.
    if (sum.erasure && !opts.privileged) sum.erasure->receipt_json.clear();
    return Status::Ok();
  });
  v.audit->AppendAsync(actor, "subject.get", uid, "", s.code());
  if (!s.ok()) return s;
  return sum;
}

StatusOr<ObjectionView> Vault::Object(const Actor& actor, const std::string& subject_id,
                                      const std::string& purpose, const std::string& reason) {
  auto placed = impl_->objections->Object(actor, subject_id, purpose, reason);
  if (placed.ok()) CompleteRequests(subject_id, "objection");
  return placed;
}

Status Vault::LiftObjection(const Actor& actor, const std::string& subject_id,
                            const std::string& purpose) {
  return impl_->objections->Lift(actor, subject_id, purpose);
}

StatusOr<std::vector<ObjectionView>> Vault::ListObjections(const Actor& actor,
                                                           const std::string& subject_id) {
  return impl_->objections->List(actor, subject_id);
}

StatusOr<Vault::SubjectRequest> Vault::LogRequest(const Actor& actor, const std::string& subject_id,
                                                  const std::string& kind,
                                                  std::optional<UnixSeconds> received_at) {
  return impl_->requests->Log(actor, subject_id, kind, received_at);
}

StatusOr<Vault::SubjectRequest> Vault::ExtendRequest(const Actor& actor,
                                                     const std::string& request_id,
                                                     const std::string& reason) {
  return impl_->requests->Extend(actor, request_id, reason);
}

StatusOr<Vault::SubjectRequest> Vault::CloseRequest(const Actor& actor,
                                                    const std::string& request_id, bool refused,
                                                    const std::string& reason) {
  return impl_->requests->Close(actor, request_id, refused, reason);
}

StatusOr<Vault::SubjectRequest> Vault::GetRequest(const Actor& actor,
                                                  const std::string& request_id) const {
  return impl_->requests->Get(actor, request_id);
}

StatusOr<std::vector<Vault::SubjectRequest>> Vault::ListRequests(const Actor& actor,
                                                                 bool open_only) const {
  return impl_->requests->List(actor, open_only);
}

StatusOr<ErasureView> Vault::RequestErasure(const Actor& actor, const std::string& subject_id,
                                            const std::string& mode, const std::string& reason) {
  return impl_->erasures->Request(actor, subject_id, mode, reason);
}

StatusOr<ErasureView> Vault::CancelErasure(const Actor& actor, const std::string& subject_id) {
  return impl_->erasures->Cancel(actor, subject_id);
}

StatusOr<ErasureView> Vault::GetErasure(const Actor& actor, const std::string& erasure_id) {
  return impl_->erasures->Get(actor, erasure_id);
}

StatusOr<HoldView> Vault::PlaceLegalHold(const Actor& actor, const std::string& subject_id,
                                         const std::string& reason,
                                         std::optional<UnixSeconds> until) {
  return impl_->holds->Place(actor, subject_id, reason, until);
}

Status Vault::ReleaseLegalHold(const Actor& actor, const std::string& subject_id,
                               const std::string& hold_id) {
  return impl_->holds->Release(actor, subject_id, hold_id);
}

StatusOr<ConsentView> Vault::RecordConsent(const Actor& actor, const std::string& subject_id,
                                           const std::string& purpose,
                                           const ConsentChange& change) {
  return impl_->consents->Record(actor, subject_id, purpose, change);
}

StatusOr<std::vector<ConsentView>> Vault::ListConsents(const Actor& actor,
                                                       const std::string& subject_id,
                                                       const ConsentQuery& query) {
  return impl_->consents->List(actor, subject_id, query);
}

StatusOr<RestrictionView> Vault::RestrictProcessing(const Actor& actor,
                                                    const std::string& subject_id,
                                                    const std::string& reason) {
  auto placed = impl_->restrictions->Place(actor, subject_id, reason);
  if (placed.ok()) CompleteRequests(subject_id, "restriction");
  return placed;
}

// A right the vault has just carried out closes the subject's open requests of that kind.
void Vault::CompleteRequests(const std::string& subject_id, const std::string& kind) {
  if (auto uid = impl_->subjects->UidOf(*impl_->store, subject_id)) {
    impl_->requests->CompleteAsync(*uid, {kind}, kind);
  }
}

Status Vault::LiftRestriction(const Actor& actor, const std::string& subject_id) {
  return impl_->restrictions->Lift(actor, subject_id);
}

StatusOr<RestrictionView> Vault::GetRestriction(const Actor& actor, const std::string& subject_id) {
  return impl_->restrictions->Get(actor, subject_id);
}

ReceiptPublicKey Vault::ReceiptKey() const {
  const auto pk = crypto::SigningPublicKey(impl_->keyring->signing_key());
  return {SigningKeyId(impl_->keyring->signing_key()), crypto::ToBase64(*pk)};
}

bool Vault::VerifyReceipt(const nlohmann::json& receipt, const std::string& public_key_base64) {
  return VerifyReceiptSignature(receipt, public_key_base64);
}

StatusOr<RotationResult> Vault::RotateEpoch(const Actor& actor, const ProgressFn& progress) {
  return impl_->rotator->Rotate(actor, progress);
}

StatusOr<SweepResult> Vault::Sweep(const Actor& actor, const ProgressFn& progress) {
  return impl_->sweeper->Run(actor, progress);
}

StatusOr<NewToken> Vault::CreateToken(const Actor& actor, Role role,
                                      const std::vector<std::string>& purposes,
                                      const std::string& name) {
  return impl_->tokens->Create(actor, role, purposes, name);
}

StatusOr<TokenInfo> Vault::Authenticate(const std::string& bearer) const {
  return impl_->tokens->Authenticate(bearer);
}

Status Vault::RevokeToken(const Actor& actor, const std::string& token_id) {
  return impl_->tokens->Revoke(actor, token_id);
}

Status Vault::SetPassword(const Actor& actor, const std::string& subject_id,
                          const std::string& password) {
  return impl_->passwords->Set(actor, subject_id, password);
}

Status Vault::ImportPasswordHash(const Actor& actor, const std::string& subject_id,
                                 const std::string& encoded_hash) {
  return impl_->passwords->Import(actor, subject_id, encoded_hash);
}

StatusOr<Vault::PasswordVerdict> Vault::VerifyPassword(const Actor& actor,
                                                       const std::string& subject_id,
                                                       const std::string& password) {
  return impl_->passwords->Verify(actor, subject_id, password);
}

StatusOr<Vault::PasswordInfo> Vault::PasswordStatus(const Actor& actor,
                                                    const std::string& subject_id) const {
  return impl_->passwords->Info(actor, subject_id);
}

StatusOr<std::unique_ptr<ExportStream>> Vault::Export(const Actor& actor,
                                                      const std::string& subject_id,
                                                      ExportFormat format) {
  return impl_->exporter->Start(actor, subject_id, format);
}

StatusOr<ComplianceReport> Vault::Report(std::optional<UnixSeconds> at) const {
  return impl_->reporter->Build(at);
}

StatusOr<VaultStats> Vault::Stats() const {
  VaultStats st;
  VAULT_RETURN_IF_ERROR(impl_->store->Read([&](Txn& txn) {
    st.subjects = txn.Count(Table::kSubjects);
    st.records = txn.Count(Table::kRecords);
    st.pending_erasures = txn.Count(Table::kErasureDue);
    st.keys_live = impl_->deks->Live(txn);
    st.keys_shredded = impl_->deks->Shredded(txn);
    return Status::Ok();
  }));
  st.epoch = impl_->keyring->current_epoch();
  st.audit_queued = impl_->audit->queued();
  return st;
}

StatusOr<std::vector<AuditEntry>> Vault::ListAudit(std::uint64_t after_seq,
                                                   std::size_t limit) const {
  return impl_->audit->List(after_seq, limit);
}

StatusOr<AuditVerifyResult> Vault::VerifyAudit(const ProgressFn& progress) const {
  return impl_->audit->Verify(progress);
}

void Vault::AuditRefusal(const Actor& actor, const std::string& action,
                         const std::string& subject_id, const std::string& category, Code outcome) {
  impl_->audit->AppendAsync(actor, action, impl_->subjects->UidOf(*impl_->store, subject_id),
                            category, outcome);
}

}  // namespace vault
