#pragma once
// The fenced commit's Lua function and its arguments, shared by RedisStore::commit_if and the
// redis job queue's commit_and_complete: one encoding, one script text, so a handler's effect is
// committed the same way whether or not its completion rides along.
#include <string>
#include <string_view>
#include <vector>

#include "state/store.hpp"

namespace outboard::state::redis_commit {

// A script's text: the Lua function commit_if(KEYS, ARGV) (commit_script.cpp says what it takes
// and does), then `body`, which calls it.
std::string with_commit_function(std::string_view body);

// commit_if's keys and arguments for `conditions` and `writes`. Views into them and into `tags`:
// use while the conditions and writes live, and move, never copy (a copy's views point into the
// original's tags).
struct Encoded {
  std::vector<std::string_view> keys;  // every distinct key, in first-use order (the tags' indexes, from 1)
  std::vector<std::string> tags;       // storage for the tags "<op><key index>[:<number>]"
  std::vector<std::string_view> args;  // the tags and their operands, in order
  Encoded() = default;
  Encoded(Encoded&&) = default;
  Encoded& operator=(Encoded&&) = default;
  Encoded(Encoded const&) = delete;
  Encoded& operator=(Encoded const&) = delete;
};
Encoded encode(std::vector<Condition> const& conditions, std::vector<Write> const& writes);

}  // namespace outboard::state::redis_commit
