// Status and Result: errors that callers must handle, as values.
//
// A Status is either OK or carries a code and a message that names what was wrong and where.
// Result<T> is a T or a non-OK Status. Exceptions never cross a module boundary; these do.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace bridgeline {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,     // the caller sent something wrong: 400
    kNotFound,            // no such thing, or not visible to the caller: 404
    kFailedPrecondition,  // not allowed in the current state: 409
    kPermissionDenied,    // the caller may not do this: 403
    kUnauthenticated,     // no valid credentials: 401
    kAlreadyExists,       // conflicts with something stored: 409 / 422
    kUnavailable,         // try again later (storage fault, overload): 503
    kResourceExhausted,   // a limit was hit: 429
    kInternal,            // a bug or corrupted data
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string message, std::string field = {}) {
    return Status(Code::kInvalidArgument, std::move(message), std::move(field));
  }
  static Status NotFound(std::string message) {
    return Status(Code::kNotFound, std::move(message));
  }
  static Status FailedPrecondition(std::string message) {
    return Status(Code::kFailedPrecondition, std::move(message));
  }
  static Status PermissionDenied(std::string message) {
    return Status(Code::kPermissionDenied, std::move(message));
  }
  static Status Unauthenticated(std::string message) {
    return Status(Code::kUnauthenticated, std::move(message));
  }
  static Status AlreadyExists(std::string message) {
    return Status(Code::kAlreadyExists, std::move(message));
  }
  static Status Unavailable(std::string message) {
    return Status(Code::kUnavailable, std::move(message));
  }
  static Status ResourceExhausted(std::string message) {
    return Status(Code::kResourceExhausted, std::move(message));
  }
  static Status Internal(std::string message) {
    return Status(Code::kInternal, std::move(message));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // For kInvalidArgument: the path of the field at fault ("customer.tier"), when known.
  const std::string& field() const { return field_; }

  // "INVALID_ARGUMENT: customer.tier: unknown tier 'x'"
  std::string ToString() const;
  static const char* CodeName(Code code);

 private:
  Status(Code code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  Code code_ = Code::kOk;
  std::string message_;
  std::string field_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace bridgeline

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define BRIDGELINE_RETURN_IF_ERROR(expr)   \
  do {                                     \
    ::bridgeline::Status _status = (expr); \
    if (!_status.ok()) return _status;     \
  } while (false)
