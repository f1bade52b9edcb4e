#include "realtime/presence.hpp"

#include <algorithm>
#include <charconv>

namespace outboard::realtime {

std::string Presence::value_for(std::string const& user) const {
  return std::to_string(clock_.now_ms() + ttl_.count()) + ":" + user;
}

std::optional<std::string> Presence::live_user(std::string_view value, std::int64_t now_ms) {
  auto colon = value.find(':');
  if (colon == std::string_view::npos || colon + 1 == value.size()) return std::nullopt;
  std::int64_t expiry = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + colon, expiry);
  if (ec != std::errc{} || end != value.data() + colon || expiry <= now_ms) return std::nullopt;
  return std::string(value.substr(colon + 1));
}

state::Async<void> Presence::enter(std::string room, std::string connection, std::string user) {
  local_[room][connection] = user;
  state::Fields fields{{connection, value_for(user)}};
  // The key outlives its last refresh by two TTLs, so a room nobody refreshes goes away.
  co_return co_await store_.hset(key(room), std::move(fields), core::Millis(ttl_.count() * 2));
}

state::Async<void> Presence::leave(std::string room, std::string connection) {
  if (auto it = local_.find(room); it != local_.end()) {
    it->second.erase(connection);
    if (it->second.empty()) local_.erase(it);
  }
  std::vector<std::string> fields{std::move(connection)};
  auto removed = co_await store_.hdel(key(room), std::move(fields));
  if (!removed) co_return removed.error();
  co_return core::Result<void>{};
}

state::Async<void> Presence::refresh() {
  // A copy: a join or leave may change local_ while a write is in flight.
  auto rooms = local_;
  core::Result<void> outcome;
  for (auto const& [room, members] : rooms) {
    state::Fields fields;
    for (auto const& [connection, user] : members) fields.emplace_back(connection, value_for(user));
    auto written = co_await store_.hset(key(room), std::move(fields), core::Millis(ttl_.count() * 2));
    if (!written) outcome = written.error();
  }
  co_return outcome;
}

state::Async<std::vector<std::string>> Presence::members(std::string room) {
  auto all = co_await store_.hgetall(key(room));
  if (!all) co_return all.error();
  std::int64_t now = clock_.now_ms();
  std::vector<std::string> users;
  std::vector<std::string> stale;
  for (auto const& [connection, value] : *all) {
    if (auto user = live_user(value, now)) {
      users.push_back(std::move(*user));
    } else if (!live_user(value, now - 2 * ttl_.count())) {
      // Long past its expiry (its owner would have refreshed it twice over): a dead server's.
      // One only just expired is left alone: its owner may be rewriting it right now.
      stale.push_back(connection);
    }
  }
  if (!stale.empty()) (void)co_await store_.hdel(key(room), std::move(stale));  // best effort: readers skip them anyway
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  co_return users;
}

}  // namespace outboard::realtime
