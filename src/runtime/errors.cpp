#include "runtime/errors.hpp"

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
      auto res = http::json_error(S::service_unavailable, "store_unavailable",
                                  "the state store did not answer (" + error.describe() + "); retry shortly");
      res.set(http::bhttp::field::retry_after, "1");
      return res;
    }
    case Errc::internal: break;
  }
  return http::json_error(S::internal_server_error, "internal", error.context);
}

}  // namespace outboard::runtime
