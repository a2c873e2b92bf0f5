// PKCS#11 sessions on a token: module loading, login, AES key objects, AES-GCM inside it.
#include "crypto/pkcs11.h"

#include <dlfcn.h>

#include <cstdio>
#include <map>
#include <utility>

// The GNU names (ck_attribute.value, ...): the compatibility names are macros such as `value`.
#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>

namespace vault::crypto::pkcs11 {

struct Session::Module {
  void* dl = nullptr;
  ck_function_list* fn = nullptr;
};

namespace {

using Attr = ck_attribute;

constexpr unsigned char kTrue = 1;
constexpr unsigned char kFalse = 0;

template <typename T>
Attr A(ck_attribute_type_t type, const T& v) {
  return Attr{type, const_cast<T*>(&v), sizeof(T)};
}

Attr Bytes(ck_attribute_type_t type, std::span<const std::uint8_t> b) {
  return Attr{type, const_cast<std::uint8_t*>(b.data()), b.size()};
}

Attr Text(ck_attribute_type_t type, const std::string& s) {
  return Attr{type, const_cast<char*>(s.data()), s.size()};
}

Result R(const char* call, ck_rv_t rv) { return Result{rv, call}; }

// Modules stay loaded and initialised for the life of the process: C_Initialize may run once
// per process, and other sessions of the same module may still be open.
std::mutex modules_mu;
std::map<std::string, std::shared_ptr<Session::Module>>& Modules() {
  static auto* modules = new std::map<std::string, std::shared_ptr<Session::Module>>();
  return *modules;
}

// "lethe" from a token label padded with blanks to 32 bytes.
std::string TrimLabel(const unsigned char (&label)[32]) {
  std::string s(reinterpret_cast<const char*>(label), sizeof label);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

}  // namespace

std::string RvName(unsigned long rv) {
  static const std::map<unsigned long, const char*> kNames = {
      {CKR_OK, "CKR_OK"},
      {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
      {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
      {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
      {CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY"},
      {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
      {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
      {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
      {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
      {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
      {CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID"},
      {CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE"},
      {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
      {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
      {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
      {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
      {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
      {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
      {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
      {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
      {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
      {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
      {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
      {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
      {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
      {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
      {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
      {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
      {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
      {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
      {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
      {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
  };
  if (auto it = kNames.find(rv); it != kNames.end()) return it->second;
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR_0x%lx", rv);
  return buf;
}

std::string Result::message() const { return call + " failed: " + RvName(rv); }
bool Result::key_gone() const {
  return rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID;
}
// SoftHSM2 reports a GCM tag that does not verify as CKR_GENERAL_ERROR (its OpenSSL decrypt
// fails); the standard's code is CKR_ENCRYPTED_DATA_INVALID.
bool Result::not_authentic() const {
  return rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_GENERAL_ERROR;
}
bool Result::pin_refused() const { return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED; }

namespace {

// The module at path, loaded and initialised once per process.
std::shared_ptr<Session::Module> LoadModule(const std::string& path, Result* result) {
  std::lock_guard<std::mutex> lock(modules_mu);
  auto& modules = Modules();
  if (auto it = modules.find(path); it != modules.end()) return it->second;
  void* dl = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (dl == nullptr) {
    *result = R("dlopen", CKR_GENERAL_ERROR);
    return nullptr;
  }
  auto get = reinterpret_cast<ck_rv_t (*)(ck_function_list**)>(::dlsym(dl, "C_GetFunctionList"));
  auto module = std::make_shared<Session::Module>();
  module->dl = dl;
  if (get == nullptr || (result->rv = get(&module->fn)) != CKR_OK) {
    *result = R("C_GetFunctionList", get == nullptr ? CKR_FUNCTION_FAILED : result->rv);
    ::dlclose(dl);
    return nullptr;
  }
  ck_c_initialize_args args{};
  args.flags = CKF_OS_LOCKING_OK;
  const ck_rv_t rv = module->fn->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    *result = R("C_Initialize", rv);
    return nullptr;
  }
  modules[path] = module;
  return module;
}

// The slot whose token carries label.
Result FindSlot(ck_function_list* fn, const std::string& label, ck_slot_id_t* slot) {
  unsigned long n = 0;
  if (ck_rv_t rv = fn->C_GetSlotList(kTrue, nullptr, &n); rv != CKR_OK) {
    return R("C_GetSlotList", rv);
  }
  std::vector<ck_slot_id_t> slots(n);
  if (ck_rv_t rv = fn->C_GetSlotList(kTrue, slots.data(), &n); rv != CKR_OK) {
    return R("C_GetSlotList", rv);
  }
  for (unsigned long i = 0; i < n; ++i) {
    ck_token_info info{};
    if (fn->C_GetTokenInfo(slots[i], &info) == CKR_OK && TrimLabel(info.label) == label) {
      *slot = slots[i];
      return R("C_GetTokenInfo", CKR_OK);
    }
  }
  return R("C_GetTokenInfo", CKR_TOKEN_NOT_PRESENT);
}

}  // namespace

std::unique_ptr<Session> Session::Open(const std::string& module_path,
                                       const std::string& token_label, const SecretBytes& pin,
                                       Result* result) {
  *result = Result{};
  std::shared_ptr<Module> module = LoadModule(module_path, result);
  if (module == nullptr) return nullptr;
  ck_function_list* fn = module->fn;
  ck_slot_id_t slot = 0;
  if (*result = FindSlot(fn, token_label, &slot); !result->ok()) return nullptr;
  ck_session_handle_t session = 0;
  if (ck_rv_t rv =
          fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
      rv != CKR_OK) {
    *result = R("C_OpenSession", rv);
    return nullptr;
  }
  const ck_rv_t rv =
      fn->C_Login(session, CKU_USER, const_cast<std::uint8_t*>(pin.secret_data()), pin.size());
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    fn->C_CloseSession(session);
    *result = R("C_Login", rv);
    return nullptr;
  }
  return std::unique_ptr<Session>(new Session(std::move(module), session));
}

Session::Session(std::shared_ptr<Module> module, unsigned long session)
    : module_(std::move(module)), session_(session) {}

Session::~Session() { module_->fn->C_CloseSession(session_); }

namespace {

// Every object of the session matching the template (n attributes); the caller holds the
// session's lock.
Result FindHandles(ck_function_list* fn, unsigned long session, Attr* find, unsigned long n,
                   std::vector<ck_object_handle_t>* out) {
  if (ck_rv_t rv = fn->C_FindObjectsInit(session, find, n); rv != CKR_OK) {
    return R("C_FindObjectsInit", rv);
  }
  ck_object_handle_t batch[64];
  unsigned long got = 0;
  ck_rv_t rv = CKR_OK;
  while ((rv = fn->C_FindObjects(session, batch, 64, &got)) == CKR_OK && got > 0) {
    out->insert(out->end(), batch, batch + got);
  }
  fn->C_FindObjectsFinal(session);
  return R("C_FindObjects", rv);
}

}  // namespace

Result Session::FindKeys(const std::string& label, std::vector<KeyObject>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  return FindLocked(label, out);
}

Result Session::FindLocked(const std::string& label, std::vector<KeyObject>* out) {
  ck_function_list* fn = module_->fn;
  const ck_object_class_t cls = CKO_SECRET_KEY;
  Attr find[] = {A(CKA_CLASS, cls), Text(CKA_LABEL, label)};
  out->clear();
  std::vector<ck_object_handle_t> handles;
  Result found = FindHandles(fn, session_, find, 2, &handles);
  if (!found.ok()) return found;
  ck_rv_t rv = CKR_OK;
  for (ck_object_handle_t h : handles) {
    std::uint8_t id[64];
    Attr get[] = {Attr{CKA_ID, id, sizeof id}};
    if (rv = fn->C_GetAttributeValue(session_, h, get, 1); rv != CKR_OK) {
      return R("C_GetAttributeValue", rv);
    }
    out->push_back(KeyObject{h, label, std::vector<std::uint8_t>(id, id + get[0].value_len)});
  }
  return R("C_FindObjects", CKR_OK);
}

Result Session::ListKeys(const std::string& prefix, std::vector<KeyObject>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  ck_function_list* fn = module_->fn;
  const ck_object_class_t cls = CKO_SECRET_KEY;
  Attr find[] = {A(CKA_CLASS, cls)};
  out->clear();
  std::vector<ck_object_handle_t> handles;
  Result found = FindHandles(fn, session_, find, 1, &handles);
  if (!found.ok()) return found;
  ck_rv_t rv = CKR_OK;
  for (ck_object_handle_t h : handles) {
    char label[256];
    std::uint8_t id[64];
    Attr get[] = {Attr{CKA_LABEL, label, sizeof label}, Attr{CKA_ID, id, sizeof id}};
    if (rv = fn->C_GetAttributeValue(session_, h, get, 2); rv != CKR_OK) continue;
    std::string l(label, get[0].value_len);
    if (l.compare(0, prefix.size(), prefix) != 0) continue;
    out->push_back(
        KeyObject{h, std::move(l), std::vector<std::uint8_t>(id, id + get[1].value_len)});
  }
  return R("C_FindObjects", CKR_OK);
}

Result Session::GenerateAesKey(const std::string& label, std::span<const std::uint8_t> id,
                               Handle* out) {
  std::lock_guard<std::mutex> lock(mu_);
  const ck_object_class_t cls = CKO_SECRET_KEY;
  const ck_key_type_t type = CKK_AES;
  const unsigned long len = 32;
  Attr tmpl[] = {A(CKA_CLASS, cls),          A(CKA_KEY_TYPE, type), A(CKA_VALUE_LEN, len),
                 A(CKA_TOKEN, kTrue),        A(CKA_PRIVATE, kTrue), A(CKA_SENSITIVE, kTrue),
                 A(CKA_EXTRACTABLE, kFalse), A(CKA_ENCRYPT, kTrue), A(CKA_DECRYPT, kTrue),
                 A(CKA_WRAP, kFalse),        A(CKA_UNWRAP, kFalse), Text(CKA_LABEL, label),
                 Bytes(CKA_ID, id)};
  ck_mechanism mech{CKM_AES_KEY_GEN, nullptr, 0};
  return R("C_GenerateKey",
           module_->fn->C_GenerateKey(session_, &mech, tmpl, sizeof tmpl / sizeof tmpl[0], out));
}

Result Session::SetLabel(Handle key, const std::string& label) {
  std::lock_guard<std::mutex> lock(mu_);
  Attr set[] = {Text(CKA_LABEL, label)};
  return R("C_SetAttributeValue", module_->fn->C_SetAttributeValue(session_, key, set, 1));
}

Result Session::Destroy(Handle key) {
  std::lock_guard<std::mutex> lock(mu_);
  return R("C_DestroyObject", module_->fn->C_DestroyObject(session_, key));
}

Result Session::EncryptGcm(Handle key, std::span<const std::uint8_t> iv,
                           std::span<const std::uint8_t> aad,
                           std::span<const std::uint8_t> plaintext,
                           std::vector<std::uint8_t>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  ck_gcm_params params{const_cast<std::uint8_t*>(iv.data()),  iv.size(),  iv.size() * 8,
                       const_cast<std::uint8_t*>(aad.data()), aad.size(), kGcmTagBytes * 8};
  ck_mechanism mech{CKM_AES_GCM, &params, sizeof params};
  ck_function_list* fn = module_->fn;
  if (ck_rv_t rv = fn->C_EncryptInit(session_, &mech, key); rv != CKR_OK) {
    return R("C_EncryptInit", rv);
  }
  out->resize(plaintext.size() + kGcmTagBytes);
  unsigned long n = out->size();
  const ck_rv_t rv = fn->C_Encrypt(session_, const_cast<std::uint8_t*>(plaintext.data()),
                                   plaintext.size(), out->data(), &n);
  out->resize(rv == CKR_OK ? n : 0);
  return R("C_Encrypt", rv);
}

Result Session::DecryptGcm(Handle key, std::span<const std::uint8_t> iv,
                           std::span<const std::uint8_t> aad, std::span<const std::uint8_t> sealed,
                           SecretBytes* out) {
  std::lock_guard<std::mutex> lock(mu_);
  ck_gcm_params params{const_cast<std::uint8_t*>(iv.data()),  iv.size(),  iv.size() * 8,
                       const_cast<std::uint8_t*>(aad.data()), aad.size(), kGcmTagBytes * 8};
  ck_mechanism mech{CKM_AES_GCM, &params, sizeof params};
  ck_function_list* fn = module_->fn;
  if (ck_rv_t rv = fn->C_DecryptInit(session_, &mech, key); rv != CKR_OK) {
    return R("C_DecryptInit", rv);
  }
  SecretBytes buf(sealed.empty() ? 1 : sealed.size());
  unsigned long n = buf.size();
  const ck_rv_t rv = fn->C_Decrypt(session_, const_cast<std::uint8_t*>(sealed.data()),
                                   sealed.size(), buf.mutable_secret_data(), &n);
  if (rv == CKR_OK) *out = SecretBytes::ImportCleartext(buf.secret_span().first(n));
  return R("C_Decrypt", rv);
}

Result Session::KeyFlags(Handle key, bool* extractable, bool* sensitive) {
  std::lock_guard<std::mutex> lock(mu_);
  unsigned char ex = 0, se = 0;
  Attr get[] = {Attr{CKA_EXTRACTABLE, &ex, 1}, Attr{CKA_SENSITIVE, &se, 1}};
  const ck_rv_t rv = module_->fn->C_GetAttributeValue(session_, key, get, 2);
  *extractable = ex != 0;
  *sensitive = se != 0;
  return R("C_GetAttributeValue", rv);
}

}  // namespace vault::crypto::pkcs11
