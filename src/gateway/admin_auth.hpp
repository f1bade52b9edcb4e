#pragma once
// Who may use the gateway's admin API, and how a request proves it.
//
// The admin API changes where traffic goes, so it is a control plane: it must not be usable by
// whoever can reach its port, nor by a web page open in an operator's browser (a cross-site
// POST to 127.0.0.1 is a plain form submission). Three rules, checked before any route:
//   1. a request carrying an `Origin` header is refused (403): browsers send it on cross-site
//      requests, curl, Prometheus and our own clients never do;
//   2. every route but GET /healthz needs `Authorization: Bearer <token>` (401 otherwise);
//   3. a request that may change something (any method but GET/HEAD) must say
//      `Content-Type: application/json` (415 otherwise): a form or text/plain body, which a
//      browser sends cross-site without asking, never gets through.
// The token lives in a file (never in argv, logs or answers): named by `admin.token_file` /
// OUTBOARD_ADMIN_TOKEN_FILE, created with mode 0600 when absent.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace outboard::gateway {

// Where the token file is when none is configured (relative to the working directory, like
// serve's default state directory).
inline constexpr std::string_view kDefaultAdminTokenFile = "outboard-data/gateway-admin.token";

// The token read from `path`, after creating the file with a fresh random token (mode 0600, in
// a directory created 0700) when it does not exist. `created` tells which happened. Throws
// std::runtime_error naming the file when it cannot be read or written, is empty, or can be
// read by group or others (a secret anyone on the host can read is no secret).
std::string load_or_create_admin_token(std::filesystem::path const& path, bool& created);

// The reason to refuse an admin request, or nullopt to let it through.
struct AdminRefusal {
  http::Status status;
  std::string error;   // machine-readable code: cross_origin, unauthorized, unsupported_media_type
  std::string detail;  // a sentence for a person; never the token
};

class AdminAuth {
 public:
  explicit AdminAuth(std::string token) : token_(std::move(token)) {}

  std::optional<AdminRefusal> check(http::Request const& request) const;

 private:
  bool token_matches(std::string_view authorization) const;

  std::string token_;
};

// True for methods that may change the gateway's state (anything but GET and HEAD).
bool admin_changes_state(http::bhttp::verb method);

}  // namespace outboard::gateway
