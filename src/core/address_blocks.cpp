#include "core/address_blocks.hpp"

#include <fmt/format.h>

#include <charconv>

namespace outboard::core {
namespace {

// The address as 16 bytes (IPv4 mapped into IPv6), so one comparison serves both families.
std::array<std::uint8_t, 16> to_bytes(boost::asio::ip::address const& address) {
  auto v6 = address.is_v4() ? boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, address.to_v4())
                            : address.to_v6();
  auto bytes = v6.to_bytes();
  std::array<std::uint8_t, 16> out{};
  for (std::size_t i = 0; i < 16; ++i) out[i] = bytes[i];
  return out;
}

std::optional<boost::asio::ip::address> parse(std::string_view text) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return address;
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

std::optional<std::string> AddressBlocks::add(std::string_view cidr) {
  while (!cidr.empty() && (cidr.front() == ' ' || cidr.front() == '\t')) cidr.remove_prefix(1);
  while (!cidr.empty() && (cidr.back() == ' ' || cidr.back() == '\t')) cidr.remove_suffix(1);
  auto slash = cidr.find('/');
  auto address = parse(cidr.substr(0, slash));
  // fmt, not "'" + std::string + "...": g++ 12 at -O3 warns (-Wrestrict, a false positive) on the
  // concatenation, and warnings are errors.
  if (!address) return fmt::format("'{}' is not an IP address or CIDR", cidr);
  bool v4 = address->is_v4();
  unsigned family_bits = v4 ? 32 : 128;
  unsigned prefix = family_bits;
  if (slash != std::string_view::npos) {
    auto digits = cidr.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc{} || ptr != digits.data() + digits.size() || prefix > family_bits) {
      return fmt::format("'{}' has a bad prefix length (0 to {})", cidr, family_bits);
    }
  }
  blocks_.push_back(Block{to_bytes(*address), v4 ? prefix + 96 : prefix});
  return std::nullopt;
}

bool AddressBlocks::contains(std::string_view address) const {
  if (blocks_.empty()) return false;
  auto parsed = parse(address);
  return parsed && contains(*parsed);
}

bool AddressBlocks::contains(boost::asio::ip::address const& address) const {
  auto bytes = to_bytes(address);
  for (auto const& b : blocks_) {
    if (same_prefix(bytes, b.bytes, b.prefix)) return true;
  }
  return false;
}

}  // namespace outboard::core
