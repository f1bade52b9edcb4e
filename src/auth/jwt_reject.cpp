#include "auth/jwt_reject.hpp"

#include <stdexcept>
#include <string>

namespace outboard::auth {

std::string_view to_code(JwtReject reason) {
  switch (reason) {
    case JwtReject::too_large: return "too_large";
    case JwtReject::malformed: return "malformed";
    case JwtReject::bad_base64: return "bad_base64";
    case JwtReject::bad_json: return "bad_json";
    case JwtReject::alg_unsupported: return "alg_unsupported";
    case JwtReject::typ_unexpected: return "typ_unexpected";
    case JwtReject::crit_unsupported: return "crit_unsupported";
    case JwtReject::header_unsupported: return "header_unsupported";
    case JwtReject::kid_missing: return "kid_missing";
    case JwtReject::kid_unknown: return "kid_unknown";
    case JwtReject::alg_mismatch: return "alg_mismatch";
    case JwtReject::bad_signature: return "bad_signature";
    case JwtReject::claim_invalid: return "claim_invalid";
    case JwtReject::exp_missing: return "exp_missing";
    case JwtReject::expired: return "expired";
    case JwtReject::not_yet_valid: return "not_yet_valid";
    case JwtReject::issued_in_future: return "issued_in_future";
    case JwtReject::iss_missing: return "iss_missing";
    case JwtReject::iss_wrong: return "iss_wrong";
    case JwtReject::aud_missing: return "aud_missing";
    case JwtReject::aud_wrong: return "aud_wrong";
  }
  return "unknown";
}

void throw_exception_from_error(JwtReject const& reason, boost::source_location const& loc) {
  throw std::logic_error("unchecked token rejection '" + std::string(to_code(reason)) + "' read as a value at " +
                         loc.file_name() + ":" + std::to_string(loc.line()));
}

}  // namespace outboard::auth
