// fuzz-link: outboard_state_api PkgConfig::HIREDIS
// fuzz-sources: src/state/redis/resp.cpp src/state/redis/redis_reply.cpp
// The RESP reader the redis store uses (state::RespReader over hiredis's reader) and the reply
// shapes a Store operation accepts (state/redis/redis_reply.hpp).
// Input: one byte choosing how the rest is cut into pieces, then the bytes a server sent.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "state/redis/redis_reply.hpp"
#include "state/redis/resp.hpp"

namespace {

using outboard::state::Reply;
using outboard::state::RespReader;
namespace redis_reply = outboard::state::redis_reply;

struct Parsed {
  std::vector<Reply> replies;
  bool failed = false;  // the reader said the bytes are not RESP
};

// Feeds `bytes` in pieces of `piece` bytes, taking every complete reply after each piece, the
// way the connection does as reads arrive.
Parsed parse(std::string_view bytes, std::size_t piece) {
  RespReader reader;
  Parsed out;
  while (!bytes.empty()) {
    auto chunk = bytes.substr(0, piece);
    bytes.remove_prefix(chunk.size());
    if (!reader.feed(chunk.data(), chunk.size())) {
      out.failed = true;
      return out;
    }
    while (true) {
      auto next = reader.next();
      if (!next) {
        out.failed = true;
        return out;
      }
      if (!*next) break;
      out.replies.push_back(std::move(**next));
    }
  }
  return out;
}

bool same(Reply const& a, Reply const& b) {
  if (a.type != b.type || a.str != b.str || a.integer != b.integer) return false;
  if (a.elements.size() != b.elements.size()) return false;
  for (std::size_t i = 0; i < a.elements.size(); ++i) {
    if (!same(a.elements[i], b.elements[i])) return false;
  }
  return true;
}

// RESP2 for a reply, as a server would send it.
void encode(Reply const& r, std::string& out) {
  switch (r.type) {
    case Reply::Type::string: out += "$" + std::to_string(r.str.size()) + "\r\n" + r.str + "\r\n"; break;
    case Reply::Type::status: out += "+" + r.str + "\r\n"; break;
    case Reply::Type::error: out += "-" + r.str + "\r\n"; break;
    case Reply::Type::integer: out += ":" + std::to_string(r.integer) + "\r\n"; break;
    case Reply::Type::nil: out += "$-1\r\n"; break;
    case Reply::Type::array:
      out += "*" + std::to_string(r.elements.size()) + "\r\n";
      for (auto const& e : r.elements) encode(e, out);
      break;
  }
}

bool all_strings(std::vector<Reply> const& elements) {
  for (auto const& e : elements) {
    if (e.type != Reply::Type::string) return false;
  }
  return true;
}

// Each reply shape accepts exactly the replies its comment promises.
void check_shapes(Reply const& r) {
  bool is_error = r.type == Reply::Type::error;
  FUZZ_CHECK(bool(redis_reply::ok("T", Reply(r))) == (r.type == Reply::Type::status));
  FUZZ_CHECK(bool(redis_reply::ok_or_nil("T", Reply(r))) ==
             (r.type == Reply::Type::status || r.type == Reply::Type::nil));
  auto n = redis_reply::integer("T", Reply(r));
  FUZZ_CHECK(bool(n) == (r.type == Reply::Type::integer));
  if (n) FUZZ_CHECK(*n == r.integer);
  auto s = redis_reply::optional_string("T", Reply(r));
  FUZZ_CHECK(bool(s) == (r.type == Reply::Type::string || r.type == Reply::Type::nil));
  if (s && *s) FUZZ_CHECK(**s == r.str);
  auto map = redis_reply::field_map("T", Reply(r));
  bool flat_pairs = r.type == Reply::Type::array && r.elements.size() % 2 == 0 && all_strings(r.elements);
  FUZZ_CHECK(bool(map) == flat_pairs);
  if (map) FUZZ_CHECK(map->size() <= r.elements.size() / 2);
  if (is_error) {
    auto e = redis_reply::to_error("T", r);
    FUZZ_CHECK(e.context.find(r.str) != std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t piece = data[0] % 16 + 1;
  std::string_view bytes(reinterpret_cast<char const*>(data + 1), size - 1);

  Parsed whole = parse(bytes, bytes.size() + 1);
  Parsed pieces = parse(bytes, piece);
  // How the bytes arrive never changes what they mean.
  FUZZ_CHECK(whole.failed == pieces.failed);
  FUZZ_CHECK(whole.replies.size() == pieces.replies.size());
  for (std::size_t i = 0; i < whole.replies.size(); ++i) FUZZ_CHECK(same(whole.replies[i], pieces.replies[i]));

  // A reply written back as RESP reads as the same reply.
  std::string again;
  for (auto const& r : whole.replies) encode(r, again);
  Parsed reread = parse(again, again.size() + 1);
  FUZZ_CHECK(!reread.failed);
  FUZZ_CHECK(reread.replies.size() == whole.replies.size());
  for (std::size_t i = 0; i < whole.replies.size(); ++i) {
    FUZZ_CHECK(same(whole.replies[i], reread.replies[i]));
    check_shapes(whole.replies[i]);
  }
  return 0;
}
