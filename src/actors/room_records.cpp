#include "actors/room_records.hpp"

#include <charconv>

namespace outboard::actors {

using state::Condition;
using state::Write;

RoomKeys::RoomKeys(std::string_view room)
    : lease("room:{" + std::string(room) + "}:lease"),
      generation("room:{" + std::string(room) + "}:generation"),
      state("room:{" + std::string(room) + "}:state"),
      journal("room:{" + std::string(room) + "}:journal") {}

std::optional<Lease> parse_lease(std::string_view token) {
  auto slash = token.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  Lease lease;
  auto digits = token.substr(slash + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), lease.generation);
  if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  lease.member = std::string(token.substr(0, slash));
  lease.token = std::string(token);
  return lease;
}

state::Async<std::optional<Lease>> lease_of(state::Store& store, std::string room) {
  RoomKeys keys(room);
  auto token = co_await store.get(keys.lease);
  if (!token) co_return token.error();
  if (!*token) co_return std::optional<Lease>{};
  co_return parse_lease(**token);
}

state::Async<std::optional<Lease>> acquire_lease(state::Store& store, std::string room, std::string member,
                                                 core::Millis ttl) {
  RoomKeys keys(room);
  // The generation grows before the attempt: a lost attempt wastes a number, never reuses one.
  auto generation = co_await store.incr_by(keys.generation, 1);
  if (!generation) co_return generation.error();
  std::string token = member + "/" + std::to_string(*generation);
  std::vector<Condition> conditions{Condition::absent(keys.lease)};
  std::vector<Write> writes{Write::set(keys.lease, token, ttl)};
  auto taken = co_await store.commit_if(std::move(conditions), std::move(writes));
  if (!taken) co_return taken.error();
  if (!*taken) co_return std::optional<Lease>{};
  co_return Lease{std::move(member), *generation, std::move(token)};
}

namespace {
// One fenced commit: `writes` only while the lease holds `token`.
state::Async<bool> fenced(state::Store& store, std::string lease_key, std::string token, std::vector<Write> writes) {
  std::vector<Condition> conditions{Condition::equals(std::move(lease_key), std::move(token))};
  co_return co_await store.commit_if(std::move(conditions), std::move(writes));
}
}  // namespace

state::Async<bool> renew_lease(state::Store& store, std::string room, std::string token, core::Millis ttl) {
  RoomKeys keys(room);
  std::vector<Write> writes{Write::set(keys.lease, token, ttl)};
  co_return co_await fenced(store, keys.lease, std::move(token), std::move(writes));
}

state::Async<bool> release_lease(state::Store& store, std::string room, std::string token) {
  RoomKeys keys(room);
  std::vector<Write> writes{Write::del(keys.lease)};
  co_return co_await fenced(store, keys.lease, std::move(token), std::move(writes));
}

state::Async<bool> save_checkpoint(state::Store& store, std::string room, std::string token, std::string encoded) {
  RoomKeys keys(room);
  std::vector<Write> writes{Write::set(keys.state, std::move(encoded)), Write::del(keys.journal)};
  co_return co_await fenced(store, keys.lease, std::move(token), std::move(writes));
}

state::Async<bool> append_journal(state::Store& store, std::string room, std::string token, std::string entry) {
  RoomKeys keys(room);
  std::vector<Write> writes{Write::push(keys.journal, std::move(entry))};
  co_return co_await fenced(store, keys.lease, std::move(token), std::move(writes));
}

state::Async<SavedRoom> load_room(state::Store& store, std::string room) {
  RoomKeys keys(room);
  auto checkpoint = co_await store.get(keys.state);
  if (!checkpoint) co_return checkpoint.error();
  auto journal = co_await store.list_range(keys.journal);
  if (!journal) co_return journal.error();
  co_return SavedRoom{std::move(*checkpoint), std::move(*journal)};
}

}  // namespace outboard::actors
