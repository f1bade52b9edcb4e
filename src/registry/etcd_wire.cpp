#include "registry/etcd_wire.hpp"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <charconv>

namespace outboard::registry::etcd {
namespace {

using nlohmann::json;
constexpr std::size_t kMaxBody = 16 << 20;

core::Error bad(std::string what) { return core::make_error(core::Errc::invalid, "etcd answer: " + what); }

// An int64 as the gateway writes it ("123") or as a number; absent fields are 0 (protobuf's
// default values are left out of its JSON).
std::optional<std::int64_t> int_field(json const& object, char const* name) {
  auto it = object.find(name);
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (!it->is_string()) return std::nullopt;
  auto const& text = it->get_ref<std::string const&>();
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

core::Result<json> parse_object(std::string_view body) {
  if (body.size() > kMaxBody) return bad("larger than 16 MiB");
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  if (auto e = doc.find("error"); e != doc.end()) return core::make_error(core::Errc::unavailable, "etcd: " + error_text(body));
  // json converts to anything, so the value is placed explicitly.
  return core::Result<json>(boost::system::in_place_value, std::move(doc));
}

core::Result<std::int64_t> header_revision(json const& object) {
  auto header = object.find("header");
  if (header == object.end() || !header->is_object()) return bad("no header");
  auto revision = int_field(*header, "revision");
  if (!revision || *revision < 0) return bad("bad header.revision");
  return *revision;
}

std::optional<KeyValue> key_value(json const& kv) {
  if (!kv.is_object()) return std::nullopt;
  KeyValue out;
  auto key = kv.find("key");
  if (key == kv.end() || !key->is_string()) return std::nullopt;
  auto decoded_key = base64_decode(key->get_ref<std::string const&>());
  if (!decoded_key) return std::nullopt;
  out.key = std::move(*decoded_key);
  if (auto value = kv.find("value"); value != kv.end()) {
    if (!value->is_string()) return std::nullopt;
    auto decoded = base64_decode(value->get_ref<std::string const&>());
    if (!decoded) return std::nullopt;
    out.value = std::move(*decoded);
  }
  auto mod = int_field(kv, "mod_revision");
  if (!mod) return std::nullopt;
  out.mod_revision = *mod;
  return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  // sodium takes unsigned bytes; the string's storage is the same bytes.
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<unsigned char const*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // libsodium reads each character as a (signed) char: a byte over 0x7f can decode as if it were
  // in the alphabet (found by registry_fuzz). Anything outside the alphabet is refused first.
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
    if (!ok) return std::nullopt;
  }
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t length = 0;
  char const* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &length, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

std::string grant_body(std::int64_t ttl_s) { return json{{"TTL", std::to_string(ttl_s)}}.dump(); }
std::string lease_body(std::int64_t lease) { return json{{"ID", std::to_string(lease)}}.dump(); }

std::string put_body(std::string_view key, std::string_view value, std::int64_t lease) {
  return json{{"key", base64_encode(key)}, {"value", base64_encode(value)}, {"lease", std::to_string(lease)}}.dump();
}

std::string range_prefix_body(std::string_view prefix) {
  return json{{"key", base64_encode(prefix)}, {"range_end", base64_encode(prefix_end(prefix))}}.dump();
}

std::string watch_body(std::string_view prefix, std::int64_t start_revision) {
  return json{{"create_request",
               {{"key", base64_encode(prefix)},
                {"range_end", base64_encode(prefix_end(prefix))},
                {"start_revision", std::to_string(start_revision)}}}}
      .dump();
}

core::Result<std::int64_t> parse_grant(std::string_view body) {
  auto doc = parse_object(body);
  if (!doc) return doc.error();
  auto id = int_field(*doc, "ID");
  if (!id || *id == 0) return bad("no lease ID");
  return *id;
}

core::Result<std::int64_t> parse_keepalive(std::string_view body) {
  auto doc = parse_object(body);
  if (!doc) return doc.error();
  auto result = doc->find("result");
  if (result == doc->end() || !result->is_object()) return bad("no result");
  auto ttl = int_field(*result, "TTL");
  if (!ttl || *ttl < 0) return bad("bad TTL");
  return *ttl;
}

core::Result<std::int64_t> parse_revision(std::string_view body) {
  auto doc = parse_object(body);
  if (!doc) return doc.error();
  return header_revision(*doc);
}

core::Result<Status> parse_status(std::string_view body) {
  auto doc = parse_object(body);
  if (!doc) return doc.error();
  auto text = [](json const& object, char const* name) -> std::string {
    auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto header = doc->find("header");
  if (header == doc->end() || !header->is_object()) return bad("no header");
  Status out{text(*header, "member_id"), text(*doc, "leader")};
  if (out.member_id.empty()) return bad("no member_id");
  return out;
}

core::Result<Range> parse_range(std::string_view body) {
  auto doc = parse_object(body);
  if (!doc) return doc.error();
  Range out;
  auto revision = header_revision(*doc);
  if (!revision) return revision.error();
  out.revision = *revision;
  if (auto kvs = doc->find("kvs"); kvs != doc->end()) {
    if (!kvs->is_array()) return bad("kvs is not an array");
    for (auto const& item : *kvs) {
      auto kv = key_value(item);
      if (!kv) return bad("malformed kv");
      out.kvs.push_back(std::move(*kv));
    }
  }
  return out;
}

core::Result<WatchMessage> parse_watch_line(std::string_view line) {
  auto doc = parse_object(line);
  if (!doc) return doc.error();
  auto result = doc->find("result");
  if (result == doc->end() || !result->is_object()) return bad("no result");
  WatchMessage out;
  auto revision = header_revision(*result);
  if (!revision) return revision.error();
  out.revision = *revision;
  auto flag = [&](char const* name) {
    auto it = result->find(name);
    return it != result->end() && it->is_boolean() && it->get<bool>();
  };
  out.created = flag("created");
  out.canceled = flag("canceled");
  auto compact = int_field(*result, "compact_revision");
  if (!compact) return bad("bad compact_revision");
  out.compact_revision = *compact;
  if (auto events = result->find("events"); events != result->end()) {
    if (!events->is_array()) return bad("events is not an array");
    for (auto const& item : *events) {
      if (!item.is_object()) return bad("malformed event");
      Event event;
      if (auto type = item.find("type"); type != item.end()) {
        if (!type->is_string()) return bad("malformed event type");
        auto const& name = type->get_ref<std::string const&>();
        if (name == "DELETE") {
          event.deleted = true;
        } else if (name != "PUT") {
          return bad("unknown event type");
        }
      }
      auto kv_it = item.find("kv");
      if (kv_it == item.end()) return bad("event without kv");
      auto kv = key_value(*kv_it);
      if (!kv) return bad("malformed kv");
      event.kv = std::move(*kv);
      out.events.push_back(std::move(event));
    }
  }
  return out;
}

std::string error_text(std::string_view body) {
  auto doc = nlohmann::json::parse(body.substr(0, std::min(body.size(), kMaxBody)), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return "";
  auto e = doc.find("error");
  if (e == doc.end() || !e->is_string()) return "";
  auto text = e->get<std::string>();
  if (text.size() > 200) text.resize(200);
  return text;
}

}  // namespace outboard::registry::etcd
