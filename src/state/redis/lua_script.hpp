#pragma once
// How a Lua script is sent to Redis: by its SHA1 (EVALSHA: 40 bytes instead of the script's text,
// and no hashing of the text on Redis's side), then once by its text (EVAL, which also loads it)
// when Redis does not know it: restarted, SCRIPT FLUSH, a cluster node that never ran it.
#include <string>
#include <string_view>

#include "state/redis/resp.hpp"

namespace outboard::state::redis_lua {

struct Script {
  std::string text;
  std::string sha;  // lowercase hex SHA1 of text: what EVALSHA names it by
};

// Start-up only: throws std::runtime_error when OpenSSL has no SHA1.
Script make_lua_script(std::string text);

// Redis does not know the script: send EVAL.
bool is_noscript(Reply const& reply);

// `by_sha`, an encoded EVALSHA command (encode_command({"EVALSHA", sha, ...})), as the same call
// by the script's text: encode_command({"EVAL", text, ...}). Built only when Redis answered
// NOSCRIPT: a call keeps a copy of its EVALSHA (its keys and arguments), never the script's text.
std::string with_script_text(std::string_view by_sha, std::string_view text);

}  // namespace outboard::state::redis_lua
