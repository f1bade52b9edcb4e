#include "actors/members.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "core/stable_hash.hpp"

namespace outboard::actors {

namespace {
// An entry this long past its expiry is nobody's: removed by whoever reads it.
constexpr std::int64_t kForgetAfterMs = 60'000;
}  // namespace

std::optional<Member> parse_member(std::string_view id) {
  auto hash = id.rfind('#');
  if (hash == std::string_view::npos || hash == 0) return std::nullopt;
  return Member{std::string(id), std::string(id.substr(0, hash))};
}

state::Async<void> announce_member(state::Store& store, std::string id, std::int64_t expires_ms) {
  // Named first: g++ 12 mishandles temporaries inside co_await expressions.
  std::string key(kMembersKey);
  state::Fields fields{{std::move(id), std::to_string(expires_ms)}};
  co_return co_await store.hset(std::move(key), std::move(fields));
}

state::Async<void> withdraw_member(state::Store& store, std::string id) {
  std::string key(kMembersKey);
  std::vector<std::string> fields{std::move(id)};
  auto removed = co_await store.hdel(std::move(key), std::move(fields));
  if (!removed) co_return removed.error();
  co_return core::Result<void>{};
}

state::Async<std::vector<Member>> live_members(state::Store& store, std::int64_t now_ms) {
  std::string key(kMembersKey);
  auto entries = co_await store.hgetall(key);
  if (!entries) co_return entries.error();
  std::map<std::string, std::pair<std::int64_t, Member>> newest;  // by address
  std::vector<std::string> forgotten;
  for (auto const& [id, value] : *entries) {
    std::int64_t expires = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), expires);
    auto member = parse_member(id);
    if (ec != std::errc{} || end != value.data() + value.size() || !member) {
      forgotten.push_back(id);
      continue;
    }
    if (expires + kForgetAfterMs < now_ms) forgotten.push_back(id);
    if (expires <= now_ms) continue;
    auto& slot = newest[member->address];
    if (expires > slot.first) slot = {expires, std::move(*member)};
  }
  if (!forgotten.empty()) {
    auto removed = co_await store.hdel(key, std::move(forgotten));
    (void)removed;  // tidying only: the next reader tries again
  }
  std::vector<Member> live;
  for (auto& [address, entry] : newest) live.push_back(std::move(entry.second));
  co_return live;
}

std::string placement_of(std::vector<Member> const& members, std::string_view room) {
  if (members.empty()) return {};
  std::vector<std::string> addresses;
  addresses.reserve(members.size());
  for (auto const& m : members) addresses.push_back(m.address);
  std::string key = "/rooms/" + std::string(room);
  return addresses[core::rendezvous_pick(addresses, key)];
}

}  // namespace outboard::actors
