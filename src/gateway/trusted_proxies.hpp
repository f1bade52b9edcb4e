#pragma once
// Which peers may tell the gateway who the client is: a list of CIDRs ("10.0.0.0/8",
// "::1/128", a bare address for one host). A request from a listed peer keeps its
// X-Forwarded-For / Forwarded chain (the gateway appends to it); from anyone else those headers
// are a client's claim and are replaced. Empty (the default): nobody is trusted. Pure: no
// sockets; built once at start-up, then read-only (safe to share across worker threads).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::gateway {

class TrustedProxies {
 public:
  // Adds one CIDR; a reason when it is malformed (config errors quote it).
  std::optional<std::string> add(std::string_view cidr);
  // True when `address` (the peer's IP as text, v4 or v6) is inside one of the ranges. An
  // IPv4-mapped IPv6 address ("::ffff:10.0.0.1") matches the IPv4 ranges.
  bool contains(std::string_view address) const;
  bool empty() const { return ranges_.empty(); }

 private:
  struct Range {
    std::array<std::uint8_t, 16> bytes{};  // IPv4 stored as IPv4-mapped IPv6
    unsigned prefix = 0;                    // bits, out of 128
  };
  std::vector<Range> ranges_;
};

}  // namespace outboard::gateway
