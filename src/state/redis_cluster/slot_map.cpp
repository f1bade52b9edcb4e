#include "state/redis_cluster/slot_map.hpp"

#include <charconv>

#include "state/redis_cluster/key_slot.hpp"

namespace outboard::state::redis_cluster {
namespace {

template <class Int>
bool parse_int(std::string_view text, Int& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size() && !text.empty();
}

core::Error malformed(std::string why) {
  return core::make_error(core::Errc::internal, "CLUSTER SLOTS: " + std::move(why));
}

// "host:port" (the host may hold colons: IPv6), as in redirections.
std::optional<NodeAddress> parse_address(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  NodeAddress out;
  out.host = std::string(text.substr(0, colon));
  if (!parse_int(text.substr(colon + 1), out.port) || out.port == 0) return std::nullopt;
  return out;
}

}  // namespace

std::uint16_t SlotMap::index_of(NodeAddress const& address) {
  for (std::size_t i = 0; i < masters.size(); ++i) {
    if (masters[i] == address) return static_cast<std::uint16_t>(i);
  }
  masters.push_back(address);
  return static_cast<std::uint16_t>(masters.size() - 1);
}

core::Result<SlotMap> parse_cluster_slots(Reply const& reply, std::string_view asked_host) {
  if (reply.type != Reply::Type::array) return malformed("not an array");
  SlotMap map;
  map.owner.assign(kSlots, SlotMap::kNobody);
  for (Reply const& range : reply.elements) {
    // [start, end, [host, port, id, ...] (the master), [replica]...]
    if (range.type != Reply::Type::array || range.elements.size() < 3) return malformed("a range is not [start, end, master]");
    Reply const& start = range.elements[0];
    Reply const& end = range.elements[1];
    Reply const& master = range.elements[2];
    if (start.type != Reply::Type::integer || end.type != Reply::Type::integer || start.integer < 0 ||
        end.integer >= kSlots || start.integer > end.integer) {
      return malformed("a range's bounds are not slots");
    }
    if (master.type != Reply::Type::array || master.elements.size() < 2 ||
        master.elements[0].type != Reply::Type::string || master.elements[1].type != Reply::Type::integer ||
        master.elements[1].integer <= 0 || master.elements[1].integer > 65535) {
      return malformed("a master is not [host, port, ...]");
    }
    NodeAddress address;
    address.host = master.elements[0].str.empty() ? std::string(asked_host) : master.elements[0].str;
    address.port = static_cast<std::uint16_t>(master.elements[1].integer);
    std::uint16_t index = map.index_of(address);
    // A slot has one master: a reply naming two for one slot is not the cluster's state (and
    // refusing it also bounds the work to one write per slot, whatever the reply's length).
    for (auto slot = start.integer; slot <= end.integer; ++slot) {
      auto& owner = map.owner[static_cast<std::size_t>(slot)];
      if (owner != SlotMap::kNobody) return malformed("slot " + std::to_string(slot) + " is in two ranges");
      owner = index;
    }
  }
  return map;
}

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect out{};
  if (error.starts_with("MOVED ")) {
    out.kind = Redirect::Kind::moved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    out.kind = Redirect::Kind::ask;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  auto space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  if (!parse_int(error.substr(0, space), out.slot) || out.slot >= kSlots) return std::nullopt;
  auto address = parse_address(error.substr(space + 1));
  if (!address) return std::nullopt;
  out.target = std::move(*address);
  return out;
}

}  // namespace outboard::state::redis_cluster
