#include "gateway/trusted_proxies.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>

namespace outboard::gateway {
namespace {

// The address as 16 bytes (IPv4 mapped into IPv6), so one comparison serves both families.
std::optional<std::array<std::uint8_t, 16>> to_bytes(std::string_view text, bool& was_v4) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  was_v4 = address.is_v4();
  auto v6 = address.is_v4() ? boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, address.to_v4())
                            : address.to_v6();
  auto bytes = v6.to_bytes();
  std::array<std::uint8_t, 16> out{};
  for (std::size_t i = 0; i < 16; ++i) out[i] = bytes[i];
  return out;
}

bool same_prefix(std::array<std::uint8_t, 16> const& a, std::array<std::uint8_t, 16> const& b, unsigned bits) {
  std::size_t whole = bits / 8;
  for (std::size_t i = 0; i < whole; ++i) {
    if (a[i] != b[i]) return false;
  }
  unsigned rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::optional<std::string> TrustedProxies::add(std::string_view cidr) {
  auto slash = cidr.find('/');
  bool v4 = false;
  auto bytes = to_bytes(cidr.substr(0, slash), v4);
  if (!bytes) return "'" + std::string(cidr) + "' is not an IP address or CIDR";
  unsigned family_bits = v4 ? 32 : 128;
  unsigned prefix = family_bits;
  if (slash != std::string_view::npos) {
    auto digits = cidr.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc{} || ptr != digits.data() + digits.size() || prefix > family_bits) {
      return "'" + std::string(cidr) + "' has a bad prefix length (0 to " + std::to_string(family_bits) + ")";
    }
  }
  ranges_.push_back(Range{*bytes, v4 ? prefix + 96 : prefix});
  return std::nullopt;
}

bool TrustedProxies::contains(std::string_view address) const {
  if (ranges_.empty()) return false;
  bool v4 = false;
  auto bytes = to_bytes(address, v4);
  if (!bytes) return false;
  for (auto const& r : ranges_) {
    if (same_prefix(*bytes, r.bytes, r.prefix)) return true;
  }
  return false;
}

}  // namespace outboard::gateway
