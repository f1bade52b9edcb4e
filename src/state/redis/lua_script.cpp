#include "state/redis/lua_script.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <stdexcept>

namespace outboard::state::redis_lua {
namespace {

std::string sha1_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("redis: SHA1 unavailable from OpenSSL (Lua scripts are named by it)");
  }
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

// An encoded EVALSHA's first two arguments, after the array header: the verb and a 40-digit sha.
constexpr std::string_view kEvalshaVerb = "$7\r\nEVALSHA\r\n$40\r\n";
constexpr std::size_t kShaDigits = 40;

}  // namespace

Script make_lua_script(std::string text) {
  std::string sha = sha1_hex(text);
  return Script{std::move(text), std::move(sha)};
}

bool is_noscript(Reply const& reply) { return reply.is_error() && reply.str.rfind("NOSCRIPT", 0) == 0; }

std::string with_script_text(std::string_view by_sha, std::string_view text) {
  auto header_end = by_sha.find("\r\n");
  if (header_end == std::string_view::npos || by_sha.substr(header_end + 2, kEvalshaVerb.size()) != kEvalshaVerb) {
    throw std::logic_error("with_script_text: not an encoded EVALSHA command");  // our own encoding: a bug
  }
  header_end += 2;
  auto rest = by_sha.substr(header_end + kEvalshaVerb.size() + kShaDigits + 2);
  std::string out(by_sha.substr(0, header_end));
  out += "$4\r\nEVAL\r\n$";
  out += std::to_string(text.size());
  out += "\r\n";
  out += text;
  out += "\r\n";
  out += rest;
  return out;
}

}  // namespace outboard::state::redis_lua
