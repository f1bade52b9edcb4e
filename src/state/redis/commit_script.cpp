#include "state/redis/commit_script.hpp"

#include <unordered_map>

namespace outboard::state::redis_commit {
namespace {

// commit_if(KEYS, ARGV): KEYS every distinct key involved, once; ARGV the operations in order,
// conditions first; each is a tag "<op><key index>" with an optional ":<number>", then its
// binary-safe operands as separate arguments:
//   a<i>                key_absent          f<i> FIELD          hash_field_absent
//   n<i>:<count>        hash_len_equals     e<i> VALUE          value_equals
//   s<i>[:<ttl>] VALUE  set (no ttl: none)  h<i>[:<ttl>] FIELD VALUE   hset
//   p<i>[:<ttl>] VALUE  push (RPUSH)        d<i>                del
// value_equals reads GET only of a string key: a key of another type fails the condition.
// A script that fails half-way is not rolled back, so it writes only after two read-only
// passes: (1) the conditions, every one read (a type error wins over a false condition, as in
// the other backends), (2) the type of every hash or list write's key as the writes before it
// leave it; then (3) the writes, which can no longer fail. Every redis.call is a good part of a
// script's cost (docs/BENCHMARKS.md, jobs), so a condition is one read with no TYPE before it.
// A TTL <= 0 expires on arrival: SET does a DEL instead (SET PX 0 is an error), PEXPIRE <= 0
// deletes the key.
// Its parameters shadow the script's globals: a script may pass slices of its own KEYS and ARGV.
// Returns 1 (written), 0 (a condition failed: nothing written) or a WRONGTYPE error reply.
constexpr std::string_view kFunction = R"lua(
local function commit_if(KEYS, ARGV)
  local ops, i = {}, 1
  while i <= #ARGV do
    local tag = ARGV[i]
    local kind, index, number = string.match(tag, '^(%a)(%d+):?(-?%d*)$')
    local op = {kind = kind, key = KEYS[tonumber(index)], number = number}
    i = i + 1
    if kind == 'f' or kind == 's' or kind == 'e' or kind == 'p' then
      op.a = ARGV[i]; i = i + 1
    elseif kind == 'h' then
      op.a, op.b = ARGV[i], ARGV[i + 1]; i = i + 2
    end
    ops[#ops + 1] = op
  end
  local function wrongtype()
    return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value')
  end
  local function is_error(reply) return type(reply) == 'table' and reply.err ~= nil end
  local function is_wrongtype(reply) return string.sub(reply.err, 1, 9) == 'WRONGTYPE' end
  -- The conditions, each read once by redis.pcall: a read of a key of the wrong type answers an
  -- error instead of raising it. All are read before deciding, so that a type error anywhere wins
  -- over a false condition. Any other error (an ACL's NOPERM, ...) is answered as it is, at once.
  local failed, mistyped = false, false
  local hash_or_none = {}  -- keys an HEXISTS or HLEN read without error
  for _, op in ipairs(ops) do
    local k = op.kind
    if k == 'a' then
      if redis.call('EXISTS', op.key) == 1 then failed = true end
    elseif k == 'f' or k == 'n' then
      local reply
      if k == 'f' then reply = redis.pcall('HEXISTS', op.key, op.a) else reply = redis.pcall('HLEN', op.key) end
      if is_error(reply) then
        if not is_wrongtype(reply) then return redis.error_reply(reply.err) end
        mistyped = true
      else
        hash_or_none[op.key] = true
        if k == 'f' and reply == 1 then failed = true end
        if k == 'n' and reply ~= tonumber(op.number) then failed = true end
      end
    elseif k == 'e' then
      -- Only a string equals a value: a key of another type fails the condition (no error).
      local reply = redis.pcall('GET', op.key)
      if is_error(reply) and not is_wrongtype(reply) then return redis.error_reply(reply.err) end
      if is_error(reply) or reply ~= op.a then failed = true end
    end
  end
  if mistyped then return wrongtype() end
  -- The writes' types, as the writes before each leave its key: a hash write needs a hash (or
  -- nothing), a push a list; set and del take any key. TYPE only where that is not known yet.
  local shapes = {}
  for _, op in ipairs(ops) do
    local k = op.kind
    if k == 'h' or k == 'p' then
      local t = shapes[op.key]
      if t == nil and k == 'h' and hash_or_none[op.key] then t = 'hash' end
      if t == nil then t = redis.call('TYPE', op.key)['ok'] end
      if k == 'h' and t ~= 'none' and t ~= 'hash' then return wrongtype() end
      if k == 'p' and t ~= 'none' and t ~= 'list' then return wrongtype() end
    end
    if k == 's' or k == 'h' or k == 'd' or k == 'p' then
      local gone = op.number ~= '' and tonumber(op.number) <= 0
      if k == 'd' or gone then shapes[op.key] = 'none' elseif k == 's' then shapes[op.key] = 'string'
      elseif k == 'p' then shapes[op.key] = 'list' else shapes[op.key] = 'hash' end
    end
  end
  if failed then return 0 end
  for _, op in ipairs(ops) do
    local k = op.kind
    if k == 's' then
      if op.number == '' then
        redis.call('SET', op.key, op.a)
      elseif tonumber(op.number) > 0 then
        redis.call('SET', op.key, op.a, 'PX', op.number)
      else
        redis.call('DEL', op.key)
      end
    elseif k == 'h' then
      redis.call('HSET', op.key, op.a, op.b)
      if op.number ~= '' then redis.call('PEXPIRE', op.key, op.number) end
    elseif k == 'p' then
      redis.call('RPUSH', op.key, op.a)
      if op.number ~= '' then redis.call('PEXPIRE', op.key, op.number) end
    elseif k == 'd' then
      redis.call('DEL', op.key)
    end
  end
  return 1
end
)lua";

// A write's op letter in the tags.
char write_op(Write::Kind kind) {
  switch (kind) {
    case Write::Kind::set:
      return 's';
    case Write::Kind::hset:
      return 'h';
    case Write::Kind::push:
      return 'p';
    case Write::Kind::del:
      break;
  }
  return 'd';
}

}  // namespace

std::string with_commit_function(std::string_view body) {
  std::string text(kFunction);
  text += body;
  return text;
}

Encoded encode(std::vector<Condition> const& conditions, std::vector<Write> const& writes) {
  Encoded out;
  std::unordered_map<std::string_view, std::size_t> index;
  auto key_tag = [&](char op, std::string const& key) {
    auto [it, inserted] = index.try_emplace(key, out.keys.size() + 1);
    if (inserted) out.keys.push_back(key);
    return op + std::to_string(it->second);
  };
  // Tags first (so their storage is final), operands are views into conditions and writes.
  out.tags.reserve(conditions.size() + writes.size());
  for (Condition const& c : conditions) {
    switch (c.kind) {
      case Condition::Kind::key_absent:
        out.tags.push_back(key_tag('a', c.key));
        break;
      case Condition::Kind::hash_field_absent:
        out.tags.push_back(key_tag('f', c.key));
        break;
      case Condition::Kind::hash_len_equals:
        out.tags.push_back(key_tag('n', c.key) + ":" + std::to_string(c.count));
        break;
      case Condition::Kind::value_equals:
        out.tags.push_back(key_tag('e', c.key));
        break;
    }
  }
  for (Write const& w : writes) {
    std::string tag = key_tag(write_op(w.kind), w.key);
    if (w.ttl && w.kind != Write::Kind::del) tag.append(":").append(std::to_string(w.ttl->count()));  // not ":" + ...: a false -Wrestrict at -O3 (g++ 12)
    out.tags.push_back(std::move(tag));
  }
  out.args.reserve(3 * out.tags.size());
  std::size_t t = 0;
  for (Condition const& c : conditions) {
    out.args.push_back(out.tags[t++]);
    if (c.kind == Condition::Kind::hash_field_absent || c.kind == Condition::Kind::value_equals) {
      out.args.push_back(c.field);
    }
  }
  for (Write const& w : writes) {
    out.args.push_back(out.tags[t++]);
    if (w.kind == Write::Kind::set || w.kind == Write::Kind::push) out.args.push_back(w.value);
    if (w.kind == Write::Kind::hset) out.args.insert(out.args.end(), {w.field, w.value});
  }
  return out;
}

}  // namespace outboard::state::redis_commit
