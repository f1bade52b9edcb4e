#include "runtime/client_address.hpp"


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

}  // namespace

std::string client_address(std::optional<ip::address> const& peer, std::string_view forwarded_for,
                           core::AddressBlocks const& trusted_proxies) {
  if (!peer) return kUnknownClient;
  ip::address client = *peer;
  if (client.is_v6() && client.to_v6().is_v4_mapped()) client = ip::make_address_v4(ip::v4_mapped, client.to_v6());
  // Right to left: while the hop that told us is ours, believe the entry it appended.
  while (trusted_proxies.contains(client) && !forwarded_for.empty()) {
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
