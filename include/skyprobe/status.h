// status.h: absl::Status helpers for set-up and control-plane code.
//
// Owner: none (header-only). Set-up, config and control-plane code returns
// absl::Status with context added as it climbs ("port 0: rte_eth_dev_configure:
// ..."); only src/app turns one into an exit code. Never used per packet: the
// data path returns counts or small enums and bumps one counter per reason.
//
//   SKYPROBE_RETURN_IF_ERROR(InitEal(EalArguments(cfg)));
//   SKYPROBE_ASSIGN_OR_RETURN(auto table, FlowTable::Create(opts, sink));
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

#define SKYPROBE_STATUS_CONCAT_INNER(a, b) a##b
#define SKYPROBE_STATUS_CONCAT(a, b) SKYPROBE_STATUS_CONCAT_INNER(a, b)

#define SKYPROBE_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    ::absl::Status skyprobe_status_ = (expr);            \
    if (!skyprobe_status_.ok()) return skyprobe_status_; \
  } while (0)

#define SKYPROBE_ASSIGN_OR_RETURN(lhs, expr) \
  SKYPROBE_ASSIGN_OR_RETURN_IMPL(SKYPROBE_STATUS_CONCAT(skyprobe_statusor_, __LINE__), lhs, expr)

#define SKYPROBE_ASSIGN_OR_RETURN_IMPL(var, lhs, expr) \
  auto var = (expr);                                   \
  if (!var.ok()) return var.status();                  \
  lhs = std::move(var).value()

namespace skyprobe {

// Prefixes `context` to the message of a non-OK status ("port 0: ...").
inline absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

// Turns a negative errno (DPDK's convention: -EINVAL) into a Status naming
// the call that failed: "rte_eth_dev_configure: Invalid argument (-22)".
inline absl::Status ErrnoToStatus(int negative_errno, absl::string_view call) {
  const int err = negative_errno < 0 ? -negative_errno : negative_errno;
  absl::StatusCode code = absl::StatusCode::kInternal;
  switch (err) {
    case EINVAL:
      code = absl::StatusCode::kInvalidArgument;
      break;
    case ENOMEM:
    case ENOSPC:
      code = absl::StatusCode::kResourceExhausted;
      break;
    case ENOENT:
    case ENODEV:
      code = absl::StatusCode::kNotFound;
      break;
    case EEXIST:
      code = absl::StatusCode::kAlreadyExists;
      break;
    case ENOTSUP:
      code = absl::StatusCode::kUnimplemented;
      break;
    case EBUSY:
    case EAGAIN:
      code = absl::StatusCode::kUnavailable;
      break;
    case EPERM:
    case EACCES:
      code = absl::StatusCode::kPermissionDenied;
      break;
    default:
      break;
  }
  return absl::Status(code, absl::StrCat(call, ": ", std::strerror(err), " (-", err, ")"));
}

}  // namespace skyprobe
