#pragma once
// A list of address blocks (CIDRs: "10.0.0.0/8", "::1/128", a bare address for one host), for
// "is this peer one of ours?": the gateway's forwarding.trusted_proxies and serve's
// server.trusted_proxies. Pure: no sockets; built once at start-up, then read-only (safe to
// share across worker threads). An IPv4-mapped IPv6 address ("::ffff:10.0.0.1") is the IPv4
// address it maps, so a client seen through an IPv6 socket matches the IPv4 blocks.
#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::core {

class AddressBlocks {
 public:
  // Adds one block; a reason when it is malformed (config errors quote it).
  std::optional<std::string> add(std::string_view cidr);
  // True when the address (as text, v4 or v6) is inside one of the blocks; false for text that
  // is not an address.
  bool contains(std::string_view address) const;
  bool contains(boost::asio::ip::address const& address) const;
  bool empty() const { return blocks_.empty(); }

 private:
  struct Block {
    std::array<std::uint8_t, 16> bytes{};  // IPv4 stored as IPv4-mapped IPv6
    unsigned prefix = 0;                    // bits, out of 128
  };
  std::vector<Block> blocks_;
};

}  // namespace outboard::core
