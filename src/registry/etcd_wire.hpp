#pragma once
// etcd's v3 JSON gateway, as bytes (no sockets): request bodies and strict readers of its
// answers. Keys and values travel base64-encoded; 64-bit integers as decimal strings (the
// gateway's protobuf JSON mapping), which the readers also accept as plain numbers. Every
// reader returns an error for anything unexpected: the answers are untrusted bytes (fuzzed in
// tests/fuzz/registry_fuzz.cpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace outboard::registry::etcd {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
// The range end that selects every key starting with `prefix` (its last byte plus one).
std::string prefix_end(std::string_view prefix);

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t mod_revision = 0;
};

struct Range {
  std::int64_t revision = 0;  // the store's revision when it answered
  std::vector<KeyValue> kvs;
};

struct Event {
  bool deleted = false;
  KeyValue kv;  // a delete has the key only
};

// One line of a watch stream.
struct WatchMessage {
  std::int64_t revision = 0;
  bool created = false;
  bool canceled = false;
  std::int64_t compact_revision = 0;  // >0: the asked-for start revision was compacted away
  std::vector<Event> events;
};

// A member's own view (maintenance/status): who it is and whom it follows, as decimal text.
struct Status {
  std::string member_id;
  std::string leader;
};

std::string grant_body(std::int64_t ttl_s);
std::string lease_body(std::int64_t lease);  // keepalive and revoke
std::string put_body(std::string_view key, std::string_view value, std::int64_t lease);
std::string range_prefix_body(std::string_view prefix);
std::string watch_body(std::string_view prefix, std::int64_t start_revision);

core::Result<std::int64_t> parse_grant(std::string_view body);      // the lease id
core::Result<std::int64_t> parse_keepalive(std::string_view body);  // remaining TTL; 0: the lease is gone
core::Result<std::int64_t> parse_revision(std::string_view body);   // header.revision (put, revoke)
core::Result<Status> parse_status(std::string_view body);
core::Result<Range> parse_range(std::string_view body);
core::Result<WatchMessage> parse_watch_line(std::string_view line);
// The "error" text of an error answer, cut to a readable length; "" when there is none.
std::string error_text(std::string_view body);

}  // namespace outboard::registry::etcd
