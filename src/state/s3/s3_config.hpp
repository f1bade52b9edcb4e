#pragma once
// What an s3:// blob store needs: where (bucket, prefix, endpoint, region), how big each uploaded
// part is, and whose keys sign the requests. The URL never carries credentials: they come from
// the environment or a 0600 file (docs/STATE.md).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "state/s3/sigv4.hpp"

namespace outboard::state::s3 {

// S3 refuses parts smaller than 5 MiB (but the last), so the URL cannot ask for less.
constexpr std::size_t kMinPartSize = 5 * 1024 * 1024;
constexpr std::size_t kDefaultPartSize = 8 * 1024 * 1024;

struct S3Options {
  std::string bucket;
  std::string prefix;  // "" or ending in '/': object keys are PREFIX + id
  std::string host;    // the endpoint, path-style requests: http://HOST:PORT/BUCKET/KEY
  std::uint16_t port = 0;
  std::string region = "us-east-1";
  // Set from the URL (part_size=BYTES, at least kMinPartSize); tests may lower it by building
  // S3Options themselves, which the URL cannot.
  std::size_t part_size = kDefaultPartSize;
  std::chrono::milliseconds timeout{30'000};  // per request: connect, send, answer
  SigningKeys keys;
};

// s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT[&region=R][&part_size=BYTES]. Everything but the
// keys; Errc::invalid with the reason (never echoing a secret) for anything else, including
// credentials in the URL and https endpoints (TLS is not implemented).
core::Result<S3Options> parse_s3_url(std::string_view url);

using GetEnv = std::function<char const*(char const*)>;

// AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) when both are set, else the file
// named by OUTBOARD_S3_CREDENTIALS_FILE: mode 0600, lines `key_id=...`, `secret=...` and optionally
// `session_token=...` ('#' starts a comment). Errc::invalid naming what is missing, never a secret.
core::Result<SigningKeys> s3_credentials(GetEnv const& getenv);

}  // namespace outboard::state::s3
