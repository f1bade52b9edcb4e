#include "runtime/client_address.hpp"

#include <charconv>

namespace outboard::runtime {
namespace ip = boost::asio::ip;
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<ip::address> parse_address(std::string_view text) {
  boost::system::error_code ec;
  auto address = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  // An IPv4 client seen through an IPv6 socket is the same client.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  return address;
}

bool trusted(ip::address const& address, std::vector<AddressBlock> const& blocks) {
  for (auto const& block : blocks) {
    if (block.contains(address)) return true;
  }
  return false;
}

}  // namespace

bool AddressBlock::contains(ip::address const& address) const {
  if (address.is_v4() != base.is_v4()) return false;
  auto bytes_of = [](ip::address const& a) {
    std::vector<unsigned char> out;
    if (a.is_v4()) {
      auto b = a.to_v4().to_bytes();
      out.assign(b.begin(), b.end());
    } else {
      auto b = a.to_v6().to_bytes();
      out.assign(b.begin(), b.end());
    }
    return out;
  };
  auto want = bytes_of(base);
  auto have = bytes_of(address);
  int bits = prefix;
  for (std::size_t i = 0; i < want.size() && bits > 0; ++i, bits -= 8) {
    unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
    if ((want[i] & mask) != (have[i] & mask)) return false;
  }
  return true;
}

std::optional<AddressBlock> parse_address_block(std::string_view text) {
  text = trim(text);
  auto slash = text.find('/');
  auto base = parse_address(text.substr(0, slash));
  if (!base) return std::nullopt;
  int max = base->is_v4() ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || prefix < 0 || prefix > max) {
      return std::nullopt;
    }
  }
  return AddressBlock{*base, prefix};
}

std::string client_address(std::optional<ip::address> const& peer, std::string_view forwarded_for,
                           std::vector<AddressBlock> const& trusted_proxies) {
  if (!peer) return kUnknownClient;
  ip::address client = *peer;
  if (client.is_v6() && client.to_v6().is_v4_mapped()) client = ip::make_address_v4(ip::v4_mapped, client.to_v6());
  // Right to left: while the hop that told us is ours, believe the entry it appended.
  while (trusted(client, trusted_proxies) && !forwarded_for.empty()) {
    auto comma = forwarded_for.rfind(',');
    std::string_view entry = trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for = comma == std::string_view::npos ? std::string_view() : forwarded_for.substr(0, comma);
    auto address = parse_address(entry);
    if (!address) break;  // garbage from beyond our proxies: the last hop we could read is the client
    client = *address;
  }
  return client.to_string();
}

}  // namespace outboard::runtime
