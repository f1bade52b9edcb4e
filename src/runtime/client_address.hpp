#pragma once
// Who the client is, for per-client throttling. `outboard serve` usually sits behind `outboard
// gateway`, which appends the address it saw to X-Forwarded-For; any client can also write that
// header itself. So the header is believed only as far as it was written by proxies we trust:
// walking it from the right (the entry our own peer appended), every trusted address is a hop of
// ours, and the first untrusted one is the client. A peer that is not a trusted proxy is the
// client, whatever the header says.
#include <boost/asio/ip/address.hpp>

#include "core/address_blocks.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::runtime {

// What client_address() answers when the peer is unknown. Per-client limits skip it: one bucket
// for every client would let one of them throttle all the others.
inline constexpr char kUnknownClient[] = "unknown";

// The client's address as text. `peer` is the connection's remote address, nullopt when
// unknown, which gives kUnknownClient.
std::string client_address(std::optional<boost::asio::ip::address> const& peer, std::string_view forwarded_for,
                           core::AddressBlocks const& trusted_proxies);

}  // namespace outboard::runtime
