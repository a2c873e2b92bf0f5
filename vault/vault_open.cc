// Opening a vault: the policy, the key files, the store, and the parts wired together.
#include <sys/stat.h>

#include "crypto/primitives.h"
#include "vault/epoch_token.h"
#include "vault/keyring_token.h"
#include "vault/layout.h"
#include "vault/store_pg.h"
#include "vault/vault_impl.h"

namespace vault {
namespace {

constexpr std::string_view kMetaCanary = "canary";
constexpr std::string_view kCanaryText = "vault";
// Records an export reads per read transaction: short snapshots, a piece of ~100 KiB.
constexpr std::size_t kExportPageRecords = 500;

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

StatusOr<std::unique_ptr<Vault::Impl>> Vault::Impl::Open(const Options& options) {
  if (!crypto::EnsureSodium()) return Internal("libsodium failed to initialise");
  if (options.data_dir.empty()) return InvalidArgument("a data directory is required (--data-dir)");
  if (!options.root_key) return InvalidArgument("a root key provider is required");
  if (!options.store.empty() && !IsPostgresUrl(options.store)) {
    return InvalidArgument("--store takes a postgresql:// connection string (or nothing: LMDB)");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->clock = options.clock ? options.clock : std::make_shared<SystemClock>();
  VAULT_RETURN_IF_ERROR(impl->LoadPolicy());
  bool fresh = false;
  VAULT_RETURN_IF_ERROR(impl->OpenKeyFiles(&fresh));
  VAULT_RETURN_IF_ERROR(impl->OpenStore());
  VAULT_RETURN_IF_ERROR(impl->OpenTokenKeyring(&fresh));
  impl->BuildParts();
  VAULT_RETURN_IF_ERROR(impl->CheckCanary(fresh));
  VAULT_RETURN_IF_ERROR(impl->deks->RecoverSlots());
  // Finish an epoch rotation a crash interrupted.
  VAULT_RETURN_IF_ERROR(impl->rotator->Resume(Actor{"recovery", Role::kAdmin}));
  // Finish the rekeys a crash (or a failed step) left pending.
  VAULT_RETURN_IF_ERROR(impl->rekeys->Finish());
  return impl;
}

Status Vault::Impl::LoadPolicy() {
  if (options.policy_path.empty()) {
    policy = Policy::Default();
  } else {
    VAULT_ASSIGN_OR_RETURN(policy, Policy::LoadFile(options.policy_path));
  }
  cipher =
      policy.cipher == "aes256gcm" ? crypto::Aead::kAes256Gcm : crypto::Aead::kXChaCha20Poly1305;
  if (!crypto::AeadAvailable(cipher)) {
    return InvalidArgument("the policy asks for aes256gcm but this CPU has no AES-NI");
  }
  return Status::Ok();
}

// The data directory, keyring and key slot file; *fresh when the keyring was just created.
// With the root key in a token (and no keyring file from before), the keyring is the token's
// and is opened once the store is (OpenTokenKeyring).
Status Vault::Impl::OpenKeyFiles(bool* fresh) {
  const std::string& dir = options.data_dir;
  if (!Exists(dir)) {
    if (!options.create_if_missing) {
      return NotFound("data directory " + dir + " does not exist (run lethe init)");
    }
    if (::mkdir(dir.c_str(), 0700) != 0) return Internal("cannot create data directory " + dir);
  }
  const std::string keyring_file = layout::KeyringFile(dir);
  *fresh = !Exists(keyring_file);
  token_keyring = *fresh && EpochTokenOf(*options.root_key).has_value();
  if (token_keyring) return OpenKeySlots(!Exists(layout::KeySlotsFile(dir)));
  VAULT_ASSIGN_OR_RETURN(auto root, SealerOf(*options.root_key));
  if (!*fresh) {
    VAULT_ASSIGN_OR_RETURN(keyring, Keyring::Open(keyring_file, std::move(root)));
  } else {
    if (!options.create_if_missing) {
      return NotFound("no keyring in " + dir + " (run lethe init, or restore one)");
    }
    VAULT_ASSIGN_OR_RETURN(keyring, Keyring::Create(keyring_file, std::move(root), clock->Now()));
  }
  return OpenKeySlots(*fresh);
}

Status Vault::Impl::OpenKeySlots(bool create) {
  if (IsPostgresUrl(options.store)) {
    keyslots = std::make_unique<TableSlots>();  // shared by every server of the database
  } else {
    VAULT_ASSIGN_OR_RETURN(keyslots, KeySlots::Open(layout::KeySlotsFile(options.data_dir),
                                                    create && options.create_if_missing));
  }
  return Status::Ok();
}

// The token keyring: its system keys from the store's keyring row (made, and written with the
// canary, when the store has none), its epochs from the token.
Status Vault::Impl::OpenTokenKeyring(bool* fresh) {
  if (!token_keyring) return Status::Ok();
  VAULT_ASSIGN_OR_RETURN(auto root, SealerOf(*options.root_key));
  std::optional<std::string> row;
  VAULT_RETURN_IF_ERROR(store->Read([&](Txn& txn) {
    if (auto v = txn.Get(Table::kKeyring, kKeyringSystemRow)) row = std::string(*v);
    return Status::Ok();
  }));
  *fresh = !row;
  if (!row && !options.create_if_missing) {
    return NotFound("the store has no keyring row (run lethe init with this --store and token)");
  }
  TokenKeyring::Settings settings;
  settings.dek_cache_ttl = options.dek_cache_ttl;
  VAULT_ASSIGN_OR_RETURN(auto k, TokenKeyring::Open(*EpochTokenOf(*options.root_key), root, row,
                                                    clock->Now(), settings));
  if (!row) {
    VAULT_ASSIGN_OR_RETURN(std::string sealed, k->SealedRow(*root));
    new_keyring_row = std::move(sealed);
  }
  keyring = std::move(k);
  return Status::Ok();
}

// The hooks run only on writes, and the first write comes after BuildParts.
Status Vault::Impl::OpenStore() {
  StoreHooks hooks;
  hooks.begin = [this](Txn& txn) {
    audit->OnBegin();
    return rotator->NoticeKeyringChange(txn);
  };
  hooks.pre_commit = [this](Txn& txn) {
    VAULT_RETURN_IF_ERROR(audit->OnPreCommit(txn));
    return deks->SyncSlots(txn);
  };
  std::unique_ptr<StoreBackend> backend;
  if (IsPostgresUrl(options.store)) {
    VAULT_ASSIGN_OR_RETURN(
        backend, OpenPgBackend(options.store, options.create_if_missing, options.abandon_store));
  } else {
    VAULT_ASSIGN_OR_RETURN(
        backend, OpenLmdbBackend(layout::StoreDir(options.data_dir), options.map_size_bytes,
                                 options.create_if_missing));
  }
  VAULT_ASSIGN_OR_RETURN(store, Store::Open(std::move(backend), std::move(hooks)));
  return Status::Ok();
}

void Vault::Impl::BuildParts() {
  index_keys = std::make_unique<IndexKeys>(keyring->index_mac());
  sealer = std::make_unique<MetaSealer>(keyring->meta_key());
  schedule = std::make_unique<EpochSchedule>(policy, *keyring);
  checkpoints = std::make_unique<AuditCheckpoints>(
      *store, keyring->signing_key(), *clock,
      AuditCheckpoints::Settings{options.audit_checkpoint_entries,
                                 options.audit_checkpoint_interval});
  audit = std::make_unique<AuditLog>(*store, keyring->audit_mac(), *clock, policy, *checkpoints);
  audit->set_queue_limit(options.audit_queue_limit);
  deks = std::make_unique<DekTable>(*store, *keyring, *keyslots, *clock);
  rekeys =
      std::make_unique<Rekeys>(*store, *deks, cipher, options.rekey_batch, options.on_rekey_step);
  subjects = std::make_unique<Subjects>(*index_keys, *deks, cipher, *clock);
  blind = std::make_unique<BlindIndex>(*index_keys);
  holds = std::make_unique<LegalHolds>(*store, *subjects, *sealer, *audit, *clock);
  consents = std::make_unique<Consents>(
      Consents::Parts{*store, policy, *clock, *subjects, *deks, *blind, *audit}, cipher);
  restrictions = std::make_unique<Restrictions>(
      Restrictions::Parts{*store, *clock, *subjects, *deks, *audit}, cipher);
  objections = std::make_unique<Objections>(
      Objections::Parts{*store, policy, *clock, *subjects, *deks, *audit}, cipher);
  requests = std::make_unique<Requests>(
      Requests::Parts{*store, policy, *clock, *subjects, *sealer, *audit});
  records = std::make_unique<Records>(
      Records::Parts{*store, policy, *clock, *index_keys, *subjects, *deks, *blind, *holds, *audit,
                     *rekeys, *consents, *objections},
      cipher, options.max_record_bytes, options.quota_bytes);
  erasures = std::make_unique<Erasures>(
      Erasures::Parts{*store, policy, *clock, *subjects, *deks, *blind, *holds, *audit, *sealer,
                      *schedule, keyring->signing_key(), *consents, *requests});

  holds->SetReleaseHook(
      [this](Txn& txn, const SubjectRow& s, const std::string& id, UnixSeconds now) {
        return erasures->NoteHoldReleased(txn, s, id, now);
      });
  rotator = std::make_unique<EpochRotator>(*store, *keyring, *deks, *audit, *schedule, *clock,
                                           options.rewrap_batch);
  sweeper =
      std::make_unique<Sweeper>(Sweeper::Parts{*store, *clock, *erasures, *holds, *deks, *records,
                                               *audit, *rotator, *rekeys, *consents},
                                options.shred_batch);
  tokens = std::make_unique<Tokens>(*store, *sealer, *audit, *clock);
  passwords = std::make_unique<Passwords>(
      Passwords::Parts{*store, policy, *clock, *subjects, *deks, *audit}, cipher,
      keyring->meta_key(),
      Passwords::Limits{options.password_concurrency, options.password_memory_kib,
                        options.password_max_waiting});
  lookup = std::make_unique<Lookups>(
      Lookups::Parts{*store, policy, *subjects, *blind, *records, *audit, *objections});
  exporter = std::make_unique<Exporter>(Exporter::Parts{*store, policy, *clock, *subjects, *records,
                                                        *holds, *erasures, *audit, *requests},
                                        kExportPageRecords);
  reporter = std::make_unique<Reporter>(*store, policy, *clock, *keyring, *schedule);
  consents_export = std::make_unique<ConsentsExport>(*consents);
  password_export = std::make_unique<PasswordExport>();
  consent_report = std::make_unique<ConsentReport>(*consents);
  exporter->AddSection(*consents_export);
  exporter->AddSection(*password_export);
  reporter->AddSource(*consent_report);
  objections_export = std::make_unique<ObjectionsExport>(*objections);
  exporter->AddSection(*objections_export);
  reporter->AddSource(*requests);
}

// The canary ties the keyring to this store: a keyring of another store is refused.
Status Vault::Impl::CheckCanary(bool fresh) {
  std::optional<std::string> canary;
  VAULT_RETURN_IF_ERROR(store->Read([&](Txn& txn) {
    if (auto c = txn.Get(Table::kMeta, kMetaCanary)) canary = std::string(*c);
    return Status::Ok();
  }));
  if (canary) {
    if (sealer->Open("canary", "", crypto::AsBytes(*canary)) != kCanaryText) {
      return Status(Code::kPermissionDenied,
                    "the keyring in " + options.data_dir + " does not belong to this store");
    }
    return Status::Ok();
  }
  if (!fresh && !options.create_if_missing) return DataLoss("store has no canary");
  return store->Write([&](Txn& txn) {
    VAULT_RETURN_IF_ERROR(
        txn.Put(Table::kMeta, kMetaCanary, sealer->Seal("canary", "", kCanaryText)));
    if (new_keyring_row) {
      VAULT_RETURN_IF_ERROR(txn.Put(Table::kKeyring, kKeyringSystemRow, *new_keyring_row));
    }
    return rotator->PublishKeyringSeq(txn);
  });
}

}  // namespace vault
