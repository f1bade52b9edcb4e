#include "state/redis/job_script.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <stdexcept>

namespace outboard::state::redis_jobs {
namespace {

// Prepended to every script. now_ms is Redis's clock: allowed before writes since Redis 5's
// effect replication, the only mode of Redis 7.
constexpr std::string_view kPrelude = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n) return string.format('%d', n) end
local function job_key(id) return 'job:{' .. id .. '}' end
local function fence_key(id) return job_key(id) .. ':fence' end
local function type_key(t, which) return 'jobs:{' .. t .. '}:' .. which end
-- The job is running under this very claim.
local function holds(key, fence)
  local job = redis.call('HMGET', key, 'state', 'fence')
  return job[1] == 'running' and tonumber(job[2]) == tonumber(fence)
end
)lua";

std::string sha1_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("redis job queue: SHA1 unavailable from OpenSSL");  // start-up only
  }
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

}  // namespace

std::string job_key(std::string_view id) { return "job:{" + std::string(id) + "}"; }

std::string type_key(std::string_view type, std::string_view which) {
  return "jobs:{" + std::string(type) + "}:" + std::string(which);
}

std::string_view type_of(std::string_view id) {
  auto colon = id.find(':');
  return colon == std::string_view::npos ? std::string_view() : id.substr(0, colon);
}

std::string millis(Millis ms) { return std::to_string(ms.count()); }

Script make_script(std::string_view body) {
  std::string text(kPrelude);
  text += body;
  std::string sha = sha1_hex(text);
  return Script{std::move(text), std::move(sha)};
}

std::string encode_eval(std::string_view verb, std::string_view script_arg, std::vector<std::string> const& keys,
                        std::vector<std::string> const& args) {
  std::string key_count = std::to_string(keys.size());
  std::vector<std::string_view> parts{verb, script_arg, key_count};
  parts.insert(parts.end(), keys.begin(), keys.end());
  parts.insert(parts.end(), args.begin(), args.end());
  return encode_command(parts);
}

bool is_noscript(Reply const& reply) { return reply.is_error() && reply.str.rfind("NOSCRIPT", 0) == 0; }

}  // namespace outboard::state::redis_jobs
