#pragma once
// What the cluster told us about who serves which slot (CLUSTER SLOTS), and what a redirection
// error (-MOVED / -ASK) says. Pure functions over replies: tested without a cluster.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "state/redis/resp.hpp"

namespace outboard::state::redis_cluster {

struct NodeAddress {
  std::string host;
  std::uint16_t port = 0;
  std::string name() const { return host + ":" + std::to_string(port); }
  bool operator==(NodeAddress const&) const = default;
};

// Slot -> the master serving it. Masters only: we never read from replicas (they may lag).
struct SlotMap {
  static constexpr std::uint16_t kNobody = 0xffff;
  std::vector<NodeAddress> masters;
  std::vector<std::uint16_t> owner;  // 16384 entries: index into masters, or kNobody

  // The master's index, added when new.
  std::uint16_t index_of(NodeAddress const& address);
};

// A CLUSTER SLOTS reply; `asked`'s host stands in for an empty address (the node answering).
// Errc::internal when the reply is not that shape, or names two masters for one slot.
core::Result<SlotMap> parse_cluster_slots(Reply const& reply, std::string_view asked_host);

struct Redirect {
  enum class Kind { moved, ask };
  Kind kind;
  std::uint16_t slot;
  NodeAddress target;
};

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381"; nullopt for any other error text.
std::optional<Redirect> parse_redirect(std::string_view error);

}  // namespace outboard::state::redis_cluster
