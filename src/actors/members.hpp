#pragma once
// Who may own rooms: every server with actors on writes itself into one hash of the store,
// `actors:members`, field = its member id ("<address>#<incarnation>"), value = the wall-clock
// millisecond its entry expires, renewed every heartbeat. A member whose entry expired is dead
// to the placement. Expiry compares wall clocks of different servers: they must agree within
// a heartbeat (one host, or NTP; docs/ACTORS.md). The lease, not this list, decides who may
// write a room: a wrong view costs a forward or a 503, never two owners.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "state/store.hpp"

namespace outboard::actors {

inline constexpr std::string_view kMembersKey = "actors:members";

struct Member {
  std::string id;       // "<address>#<incarnation>": a restart at the same address is a new member
  std::string address;  // "host:port": where its rooms are forwarded, and what placement hashes
};
// "127.0.0.1:8080#k3j2": the address and the id; nullopt without a '#'.
std::optional<Member> parse_member(std::string_view id);

state::Async<void> announce_member(state::Store& store, std::string id, std::int64_t expires_ms);
state::Async<void> withdraw_member(state::Store& store, std::string id);
// The members alive at now_ms, one per address (the newest entry), sorted by address. Entries
// expired for long are removed on the way.
state::Async<std::vector<Member>> live_members(state::Store& store, std::int64_t now_ms);

// The address owning `room` among `members` (rendezvous over their addresses, the key
// "/rooms/<room>": the gateway's `rendezvous` policy over the same addresses and path picks
// the same server). Empty when there is none.
std::string placement_of(std::vector<Member> const& members, std::string_view room);

}  // namespace outboard::actors
