#pragma once
// Parsing of the store URLs accepted by --state, --sessions, --data and --blobs.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace outboard::state {

struct StoreUrl {
  std::string scheme;    // memory, sqlite, redis, file
  std::string path;      // sqlite and file: the filesystem path (absolute or relative)
  std::string host;      // redis
  std::uint16_t port = 0;
  int database = 0;      // redis: SELECT n
  std::string password;  // redis: AUTH, from redis://:password@host:port
};

// Errc::invalid with a reason that names what is wrong.
core::Result<StoreUrl> parse_store_url(std::string_view url);

}  // namespace outboard::state
