// Vault::Impl: the engine's parts, built and wired together by Open (vault_open.cc), each
// owning its state; the Vault facade (vault.cc) and backups (backup.cc) call into them.
//
// Declaration order matters for destruction: the store goes first (its writer thread runs
// the operations still queued, which use the parts), the parts next, the key files last.
#pragma once

#include <memory>
#include <optional>

#include "crypto/aead.h"
#include "vault/audit_log.h"
#include "vault/blind_index.h"
#include "vault/consents.h"
#include "vault/dek_table.h"
#include "vault/epoch_rotator.h"
#include "vault/epochs.h"
#include "vault/erasure.h"
#include "vault/export_sections.h"
#include "vault/exporter.h"
#include "vault/index_keys.h"
#include "vault/keyring.h"
#include "vault/keyslots.h"
#include "vault/legal_holds.h"
#include "vault/lookup.h"
#include "vault/meta_sealer.h"
#include "vault/objections.h"
#include "vault/passwords.h"
#include "vault/records.h"
#include "vault/rekeys.h"
#include "vault/report.h"
#include "vault/requests.h"
#include "vault/restriction.h"
#include "vault/store.h"
#include "vault/subjects.h"
#include "vault/sweeper.h"
#include "vault/tokens.h"
#include "vault/vault.h"

namespace vault {

class Vault::Impl {
 public:
  static StatusOr<std::unique_ptr<Impl>> Open(const Options& options);

  Options options;
  Policy policy;
  std::shared_ptr<Clock> clock;
  crypto::Aead cipher = crypto::Aead::kXChaCha20Poly1305;
  std::unique_ptr<Keyring> keyring;
  bool token_keyring = false;                  // epoch KEKs in the token (keyring_token.h)
  std::optional<std::string> new_keyring_row;  // written with the canary by a fresh init
  std::unique_ptr<SlotStore> keyslots;

  std::unique_ptr<IndexKeys> index_keys;
  std::unique_ptr<MetaSealer> sealer;
  std::unique_ptr<EpochSchedule> schedule;
  std::unique_ptr<AuditCheckpoints> checkpoints;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<DekTable> deks;
  std::unique_ptr<Rekeys> rekeys;
  std::unique_ptr<Subjects> subjects;
  std::unique_ptr<BlindIndex> blind;
  std::unique_ptr<LegalHolds> holds;
  std::unique_ptr<Consents> consents;
  std::unique_ptr<Restrictions> restrictions;
  std::unique_ptr<Objections> objections;
  std::unique_ptr<Requests> requests;
  std::unique_ptr<Records> records;
  std::unique_ptr<Erasures> erasures;
  std::unique_ptr<EpochRotator> rotator;
  std::unique_ptr<Sweeper> sweeper;
  std::unique_ptr<Tokens> tokens;
  std::unique_ptr<Passwords> passwords;
  std::unique_ptr<Lookups> lookup;
  std::unique_ptr<Exporter> exporter;
  std::unique_ptr<Reporter> reporter;
  std::unique_ptr<ConsentsExport> consents_export;
  std::unique_ptr<PasswordExport> password_export;
  std::unique_ptr<ConsentReport> consent_report;
  std::unique_ptr<ObjectionsExport> objections_export;

  std::unique_ptr<Store> store;

 private:
  Status LoadPolicy();
  Status OpenKeyFiles(bool* fresh);
  Status OpenKeySlots(bool create);
  Status OpenTokenKeyring(bool* fresh);
  Status OpenStore();
  void BuildParts();
  Status CheckCanary(bool fresh);
};

}  // namespace vault
