#pragma once
// Why a token was refused. Each reason has a short code for logs and metrics; neither the code nor
// anything else the verifier reports carries the token, a claim value or key material, so a
// rejection can be logged and counted without leaking what an attacker sent or what we hold.
#include <boost/system/result.hpp>
#include <string_view>

namespace outboard::auth {

enum class JwtReject {
  too_large,          // over kMaxTokenBytes before any decoding
  malformed,          // not three non-empty dot-separated segments
  bad_base64,         // a segment is not strict unpadded base64url
  bad_json,           // header or claims not one JSON object (or too deep, or a duplicate member)
  alg_unsupported,    // alg missing, "none", or not one of ours
  typ_unexpected,     // typ present and not "JWT"
  crit_unsupported,   // a crit header: we implement no extension, so every one is unknown
  header_unsupported, // b64 other than true (RFC 7797 unencoded payloads)
  kid_missing,        // no kid (string) in the header
  kid_unknown,        // no key with exactly this kid
  alg_mismatch,       // the header's alg is not the one the kid's key is bound to
  bad_signature,      // the signature does not verify
  claim_invalid,      // a registered claim has the wrong JSON type
  exp_missing,
  expired,            // now >= exp + leeway
  not_yet_valid,      // now + leeway < nbf
  issued_in_future,   // now + leeway < iat
  iss_missing,
  iss_wrong,
  aud_missing,
  aud_wrong,
};

// "expired", "kid_unknown", ...: stable, for logs and metric labels.
std::string_view to_code(JwtReject reason);

template <class T>
using JwtResult = boost::system::result<T, JwtReject>;

// boost::system::result calls this (found by ADL) when value() is read from a rejection: a bug,
// since every JwtResult is checked first.
[[noreturn]] void throw_exception_from_error(JwtReject const& reason, boost::source_location const& loc);

}  // namespace outboard::auth
