#pragma once
// Parsing of the store URLs accepted by --state, --sessions, --data and --blobs.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace outboard::state {

struct StoreUrl {
  std::string scheme;    // memory, sqlite, redis, redis-cluster, postgres, file, s3
  std::string path;      // sqlite and file: the filesystem path (absolute or relative)
  std::string host;      // redis (redis-cluster: the first seed node)
  std::uint16_t port = 0;
  int database = 0;      // redis: SELECT n
  std::string password;  // redis, redis-cluster: AUTH, from redis://:password@host:port
  // redis-cluster: every seed node given (at least one); the cluster tells the rest.
  std::vector<std::pair<std::string, std::uint16_t>> nodes;
  // redis-cluster, postgres and s3: the URL as given, for messages (redacted) and the backend's
  // own parser (libpq reads postgres URIs; s3://bucket/prefix?endpoint=... the S3 blob store's).
  std::string raw;
};

// The URL with any password replaced by "***": what logs and error messages may show.
std::string redact_store_url(std::string_view url);

// Errc::invalid with a reason that names what is wrong.
core::Result<StoreUrl> parse_store_url(std::string_view url);

}  // namespace outboard::state
