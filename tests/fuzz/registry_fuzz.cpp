// fuzz-link: outboard_core nlohmann_json::nlohmann_json PkgConfig::SODIUM
// fuzz-sources: src/registry/etcd_wire.cpp src/registry/member.cpp
// What a gateway reads from etcd (registry/etcd_wire.hpp, registry/member.hpp), on any bytes:
// watch lines, range answers, and member entries. Invariants:
//   - a refusal is an Error with a short context (no crash, no exception);
//   - every accepted event's key and value came through base64 decoding that re-encodes to the
//     same text (nothing is accepted half-decoded);
//   - an accepted member has a port 1..65535, a weight 1..kMaxWeight, and its address is the
//     key's suffix; its JSON reads back as the same member.
// Input: the first line is the member key's suffix, the rest is read every way.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "registry/etcd_wire.hpp"
#include "registry/member.hpp"

namespace {

using namespace outboard;
constexpr std::string_view kPrefix = "/outboard/members/";

void check_member(std::string_view suffix, std::string_view value) {
  std::string key = std::string(kPrefix) + std::string(suffix);
  auto member = registry::parse_member(key, kPrefix, value);
  if (!member) return;
  FUZZ_CHECK(member->port >= 1 && member->weight >= 1 && member->weight <= registry::kMaxWeight);
  FUZZ_CHECK(member->address() == suffix);
  auto again = registry::parse_member(key, kPrefix, registry::to_json(*member));
  FUZZ_CHECK(again && again->address() == member->address() && again->state == member->state &&
             again->weight == member->weight && again->changed_at_ms == member->changed_at_ms);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<char const*>(data), size);
  std::string_view suffix = fuzz::take_line(rest);
  check_member(suffix, rest);

  auto watch = registry::etcd::parse_watch_line(rest);
  if (!watch) {
    FUZZ_CHECK(!watch.error().context.empty() && watch.error().context.size() < 300);
  } else {
    for (auto const& event : watch->events) {
      auto key = registry::etcd::base64_encode(event.kv.key);
      FUZZ_CHECK(registry::etcd::base64_decode(key) == event.kv.key);
      check_member(event.kv.key.size() > kPrefix.size() ? std::string_view(event.kv.key).substr(kPrefix.size()) : "",
                   event.kv.value);
    }
  }
  auto range = registry::etcd::parse_range(rest);
  if (range) FUZZ_CHECK(range->revision >= 0);
  auto decoded = registry::etcd::base64_decode(rest);
  if (decoded) FUZZ_CHECK(registry::etcd::base64_encode(*decoded) == rest);
  return 0;
}
