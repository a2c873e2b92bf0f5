// Status and StatusOr<T>: the engine's one error type. No exception crosses the engine API.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace vault {

// Each code maps to one HTTP status in api/ (in parentheses).
enum class Code {
  kOk = 0,
  kInvalidArgument,   // malformed input (400)
  kUnauthenticated,   // no or bad credentials (401)
  kPermissionDenied,  // role or purpose not allowed (403)
  kNotFound,          // unknown (404)
  kConflict,          // conflicting state (409)
  kGone,              // subject erased or erasure pending (410)
  kTooLarge,          // payload too large (413)
  kPolicyViolation,   // valid input the policy refuses: unknown category, bad id (422)
  kLocked,            // blocked by a legal hold (423)
  kThrottled,         // rate limited (429)
  kUnavailable,       // shutting down, store full (503)
  kDataLoss,          // corrupt or undecryptable stored data (500)
  kInternal,          // bug or environment failure (500)
  kRestricted,        // processing of the subject is restricted, GDPR Art. 18 (423)
};

const char* CodeName(Code code);

// Immutable result of an operation. The message is written for the caller (operator or
// API client) and never contains personal data or key material.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return {}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
inline Status PolicyViolation(std::string m) { return {Code::kPolicyViolation, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status s) : v_(std::move(s)) {  // NOLINT: implicit by design
    if (std::get<Status>(v_).ok()) v_ = Status(Code::kInternal, "OK status without a value");
  }
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<Status, T> v_;
};

// tmp and lhs are a name and a declaration ("PutResult put"): they cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define VAULT_CONCAT_INNER_(a, b) a##b
#define VAULT_CONCAT_(a, b) VAULT_CONCAT_INNER_(a, b)
#define VAULT_RETURN_IF_ERROR_IMPL_(tmp, expr) \
  do {                                         \
    ::vault::Status tmp = (expr);              \
    if (!tmp.ok()) return tmp;                 \
  } while (0)
#define VAULT_RETURN_IF_ERROR(expr) \
  VAULT_RETURN_IF_ERROR_IMPL_(VAULT_CONCAT_(vault_status_, __COUNTER__), expr)
#define VAULT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
#define VAULT_ASSIGN_OR_RETURN(lhs, expr) \
  VAULT_ASSIGN_OR_RETURN_IMPL_(VAULT_CONCAT_(vault_sor_, __LINE__), lhs, expr)
// NOLINTEND(bugprone-macro-parentheses)

}  // namespace vault
