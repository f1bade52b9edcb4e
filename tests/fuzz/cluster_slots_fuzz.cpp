// fuzz-link: outboard_state_api PkgConfig::HIREDIS
// fuzz-sources: src/state/redis/resp.cpp src/state/redis_cluster/slot_map.cpp
// What a cluster node tells a client about routing (src/state/redis_cluster/slot_map.hpp): a
// CLUSTER SLOTS reply, read by the RESP reader the connection uses, and -MOVED / -ASK errors.
// Input: the bytes a server sent. Every complete reply goes to parse_cluster_slots (and, when it
// is an error reply, its message to parse_redirect); the raw bytes go to parse_redirect too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "state/redis/resp.hpp"
#include "state/redis_cluster/key_slot.hpp"
#include "state/redis_cluster/slot_map.hpp"

namespace {

using outboard::state::Reply;
using outboard::state::RespReader;
namespace cluster = outboard::state::redis_cluster;

constexpr std::string_view kAskedHost = "asked.example";

std::vector<Reply> read_replies(std::string_view bytes) {
  RespReader reader;
  std::vector<Reply> replies;
  if (!reader.feed(bytes.data(), bytes.size())) return replies;
  while (true) {
    auto next = reader.next();
    if (!next || !*next) return replies;
    replies.push_back(std::move(**next));
  }
}

// An accepted map is the reply itself: every range's slots belong to that range's master (the
// asked host for an empty one), no slot to two ranges, nothing else owned, every master distinct
// with a host and a port.
void check_slot_map(Reply const& reply, cluster::SlotMap const& map) {
  FUZZ_CHECK(map.owner.size() == cluster::kSlots);
  for (std::size_t i = 0; i < map.masters.size(); ++i) {
    FUZZ_CHECK(!map.masters[i].host.empty());
    FUZZ_CHECK(map.masters[i].port != 0);
    for (std::size_t j = 0; j < i; ++j) FUZZ_CHECK(!(map.masters[i] == map.masters[j]));
  }
  std::vector<int> covered(cluster::kSlots, 0);
  for (Reply const& range : reply.elements) {
    auto const& master = range.elements[2];
    cluster::NodeAddress expected{master.elements[0].str.empty() ? std::string(kAskedHost) : master.elements[0].str,
                                  static_cast<std::uint16_t>(master.elements[1].integer)};
    FUZZ_CHECK(range.elements[0].integer >= 0 && range.elements[1].integer < cluster::kSlots);
    for (auto slot = range.elements[0].integer; slot <= range.elements[1].integer; ++slot) {
      auto s = static_cast<std::size_t>(slot);
      FUZZ_CHECK(++covered[s] == 1);
      FUZZ_CHECK(map.owner[s] < map.masters.size());
      FUZZ_CHECK(map.masters[map.owner[s]] == expected);
    }
  }
  for (std::size_t s = 0; s < cluster::kSlots; ++s) {
    FUZZ_CHECK((covered[s] == 0) == (map.owner[s] == cluster::SlotMap::kNobody));
  }
}

// An accepted redirection names a slot and a node; written back in Redis's form it reads the same.
void check_redirect(std::string_view error) {
  auto redirect = cluster::parse_redirect(error);
  if (!redirect) return;
  bool moved = redirect->kind == cluster::Redirect::Kind::moved;
  FUZZ_CHECK(error.starts_with(moved ? "MOVED " : "ASK "));
  FUZZ_CHECK(redirect->slot < cluster::kSlots);
  FUZZ_CHECK(redirect->target.port != 0);
  FUZZ_CHECK(!redirect->target.host.empty());
  std::string again = std::string(moved ? "MOVED " : "ASK ") + std::to_string(redirect->slot) + " " +
                      redirect->target.name();
  auto reparsed = cluster::parse_redirect(again);
  FUZZ_CHECK(reparsed && reparsed->kind == redirect->kind && reparsed->slot == redirect->slot &&
             reparsed->target == redirect->target);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<char const*>(data), size);
  check_redirect(bytes);
  for (Reply const& reply : read_replies(bytes)) {
    if (reply.is_error()) check_redirect(reply.str);
    auto map = cluster::parse_cluster_slots(reply, kAskedHost);
    if (map) check_slot_map(reply, *map);
    else FUZZ_CHECK(map.error().code == outboard::core::Errc::internal && map.error().context.starts_with("CLUSTER SLOTS: "));
  }
  return 0;
}
