#pragma once
// AWS Signature Version 4 for S3 (path-style requests), computed with OpenSSL. Pure functions of
// their inputs (no clock, no environment), so tests can compare every intermediate string with an
// independent signer (botocore) for fixed inputs.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace outboard::state::s3 {

struct SigningKeys {
  std::string key_id;
  std::string secret;
  std::string session_token;  // empty when the credentials are long-lived
};

// One request as it goes on the wire. `path` is the decoded object path ("/bucket/key");
// query parameters are decoded too (signing encodes both). Header names in any case.
struct SignableRequest {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;  // must include host
  std::string payload_sha256;  // hex, the value of x-amz-content-sha256
};

struct SigningScope {
  std::string amz_date;  // 20130524T000000Z
  std::string region;    // us-east-1
  std::string service = "s3";
};

std::string sha256_hex(std::string_view bytes);
// RFC 3986 percent-encoding of everything but unreserved characters; '/' kept when asked.
std::string uri_encode(std::string_view text, bool keep_slash);
// 20130524T000000Z for a time in seconds since the epoch.
std::string amz_date_of(long long unix_seconds);

std::string canonical_request(SignableRequest const& request);
std::string string_to_sign(SignableRequest const& request, SigningScope const& scope);
// The Authorization header value: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...
std::string authorization_header(SignableRequest const& request, SigningScope const& scope,
                                 SigningKeys const& keys);

}  // namespace outboard::state::s3
