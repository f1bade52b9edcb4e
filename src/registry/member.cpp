#include "registry/member.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

namespace outboard::registry {

std::string_view to_string(MemberState state) { return state == MemberState::up ? "up" : "draining"; }

std::optional<std::pair<std::string, std::uint16_t>> parse_host_port(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  std::string_view host = text.substr(0, colon), port_text = text.substr(colon + 1);
  if (host.size() > 253) return std::nullopt;
  bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  for (std::size_t i = bracketed ? 1 : 0; i < host.size() - (bracketed ? 1 : 0); ++i) {
    char c = host[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              (bracketed && c == ':');
    if (!ok) return std::nullopt;
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) return std::nullopt;
  return std::pair{std::string(host), static_cast<std::uint16_t>(port)};
}

std::string to_json(Member const& member) {
  return nlohmann::json{{"address", member.address()},
                        {"state", to_string(member.state)},
                        {"weight", member.weight},
                        {"changed_at_ms", member.changed_at_ms}}
      .dump();
}

std::optional<Member> parse_member(std::string_view key, std::string_view prefix, std::string_view value) {
  if (value.size() > kMaxEntryBytes || key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  auto doc = nlohmann::json::parse(value, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  auto address = doc.find("address");
  auto state = doc.find("state");
  if (address == doc.end() || !address->is_string() || state == doc.end() || !state->is_string()) return std::nullopt;
  auto const& address_text = address->get_ref<std::string const&>();
  if (key.substr(prefix.size()) != address_text) return std::nullopt;
  auto host_port = parse_host_port(address_text);
  if (!host_port) return std::nullopt;
  Member m;
  m.host = host_port->first;
  m.port = host_port->second;
  auto const& state_text = state->get_ref<std::string const&>();
  if (state_text == "up") {
    m.state = MemberState::up;
  } else if (state_text == "draining") {
    m.state = MemberState::draining;
  } else {
    return std::nullopt;
  }
  if (auto w = doc.find("weight"); w != doc.end()) {
    if (!w->is_number_unsigned()) return std::nullopt;
    auto weight = w->get<std::uint64_t>();
    if (weight < 1 || weight > kMaxWeight) return std::nullopt;
    m.weight = static_cast<std::uint32_t>(weight);
  }
  if (auto t = doc.find("changed_at_ms"); t != doc.end()) {
    if (!t->is_number_integer()) return std::nullopt;
    m.changed_at_ms = t->get<std::int64_t>();
  }
  return m;
}

}  // namespace outboard::registry
