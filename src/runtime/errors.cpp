#include "runtime/errors.hpp"

#include <spdlog/spdlog.h>

namespace outboard::runtime {

http::Response error_response(core::Error const& error) {
  using core::Errc;
  using S = http::Status;
  switch (error.code) {
    case Errc::invalid: return http::json_error(S::bad_request, "invalid", error.context);
    case Errc::not_found: return http::json_error(S::not_found, "not_found", error.context);
    case Errc::conflict: return http::json_error(S::conflict, "conflict", error.context);
    case Errc::too_large: return http::json_error(S::payload_too_large, "payload_too_large", error.context);
    case Errc::unavailable:
    case Errc::timeout: {
      // Generic on purpose: the error's context names the store's address (host:port, a file
      // path), which is for the operator's log (StoreHealth logs it once), not for clients.
      auto res = http::json_error(S::service_unavailable, "store_unavailable",
                                  "the state store is unreachable; retry shortly");
      res.set(http::bhttp::field::retry_after, "1");
      return res;
    }
    case Errc::internal: break;
  }
  // A bug or an impossible state: its context may name internals; logged, never sent.
  spdlog::error("internal error answered 500: {}", error.describe());
  return http::json_error(S::internal_server_error, "internal", "unexpected server error");
}

}  // namespace outboard::runtime
