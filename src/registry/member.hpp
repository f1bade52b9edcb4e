#pragma once
// One entry of the shared truth (docs/TRUTH.md): a server that says it exists, under
// `<prefix><host:port>` in etcd, attached to the server's lease so that its death (no keep-alive
// for a TTL) removes it. The value is a small JSON object the server writes:
//   {"address":"127.0.0.1:8081","state":"up"|"draining","weight":1,"changed_at_ms":...}
// Entries come from a shared store any process may write to, so they are parsed strictly: a
// malformed one is skipped and counted by the reader, never trusted in part.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace outboard::registry {

enum class MemberState { up, draining };
std::string_view to_string(MemberState state);

struct Member {
  std::string host;
  std::uint16_t port = 0;
  MemberState state = MemberState::up;
  std::uint32_t weight = 1;
  // Wall-clock milliseconds when the server made this change: a gateway that applies it
  // observes now minus this as its convergence time (same clock domain on one machine).
  std::int64_t changed_at_ms = 0;

  std::string address() const { return host + ":" + std::to_string(port); }
};

inline constexpr std::uint32_t kMaxWeight = 1000;
inline constexpr std::size_t kMaxEntryBytes = 4096;

// "host:port" with a non-empty host of [A-Za-z0-9.-] (or a bracketed IPv6 literal) and a port
// 1..65535; nullopt otherwise.
std::optional<std::pair<std::string, std::uint16_t>> parse_host_port(std::string_view text);

std::string to_json(Member const& member);
// The entry stored under `key`: the key must end with the value's address (an entry cannot
// claim another server's name). nullopt when anything is off.
std::optional<Member> parse_member(std::string_view key, std::string_view prefix, std::string_view value);

}  // namespace outboard::registry
