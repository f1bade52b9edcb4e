#include "realtime_settings.hpp"

#include "state/store_url.hpp"

namespace outboard::app {

namespace {

std::optional<std::string> check_feed_url(std::string const& url) {
  if (url.empty()) return std::nullopt;  // "the data store's"
  auto parsed = state::parse_store_url(url);
  if (!parsed) return parsed.error().context;
  if (parsed->scheme == "file") return "file:// is a blob store; rooms need memory://, sqlite://PATH, redis://HOST:PORT/DB or postgres://...";
  return std::nullopt;
}

std::optional<std::string> check_origin(std::string const& origin) {
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string::npos || scheme_end == 0 || scheme_end + 3 == origin.size()) {
    return "'" + origin + "' is not an origin like \"https://shop.example\"";
  }
  if (origin.back() == '/') return "'" + origin + "': an origin has no path (drop the trailing '/')";
  return std::nullopt;
}

}  // namespace

void declare_realtime(core::Settings& s, RealtimeSettings& v) {
  s.add_bool("realtime.enabled", v.enabled, "", "serve rooms over WebSocket on GET /ws");
  s.add_string("realtime.url", v.url, "--realtime",
               "where rooms live: memory://, sqlite://PATH, redis://HOST:PORT/DB, postgres://... (default: the data store)",
               check_feed_url);
  s.add_bool("realtime.resume", v.resume, "",
             "true: a room's history is kept, a rejoin with `since` gets what it missed and a resent id is not a "
             "second message; false: live fan-out only (the lab's pubsub design)");
  s.add_int("realtime.history", v.history, 1, 10'000'000, "", "messages kept per room for rejoins");
  s.add_int("realtime.history_ttl_s", v.history_ttl_s, 1, 365LL * 86400, "",
            "a room's history expires this long after its last message");
  s.add_int("realtime.dedupe_ttl_s", v.dedupe_ttl_s, 1, 7LL * 86400, "",
            "how long a message id is remembered, so its resend is not a second message");
  s.add_int("realtime.poll_interval_ms", v.poll_interval_ms, 1, 10'000, "",
            "sqlite: how often each process looks for new messages (the delivery latency across processes)");
  s.add_int("realtime.max_message_bytes", v.max_message_bytes, 256, 16 << 20, "",
            "largest WebSocket message a client may send (closed with 1009 above)");
  s.add_int("realtime.max_text_bytes", v.max_text_bytes, 1, 16 << 20, "", "largest `text` of a message");
  s.add_int("realtime.messages_per_second", v.messages_per_second, 1, 1'000'000, "",
            "client messages per second per connection (more: `rate_limited`)");
  s.add_int("realtime.max_rooms", v.max_rooms, 1, 100'000, "", "rooms one connection may be in");
  s.add_int("realtime.outbound_queue", v.outbound_queue, 2, 10'000'000, "",
            "messages waiting to be sent to one client before it is cut off as a slow consumer (1008)");
  s.add_int("realtime.idle_timeout_ms", v.idle_timeout_ms, 0, 3'600'000, "",
            "a silent WebSocket is pinged after half this, closed after all of it (0: never)");
  s.add_int("realtime.close_grace_ms", v.close_grace_ms, 1, 600'000, "", "the wait for a closing handshake");
  s.add_int("realtime.presence_ttl_ms", v.presence_ttl_ms, 100, 3'600'000, "",
            "a member whose server stopped refreshing it leaves its rooms' presence after this");
  s.add_list("realtime.allowed_origins", v.allowed_origins, "",
             "origins (\"https://shop.example\") besides the request's own host allowed to open /ws", check_origin);
}

std::optional<realtime::RealtimeConfig> to_realtime_config(RealtimeSettings const& v) {
  if (!v.enabled) return std::nullopt;
  if (v.max_text_bytes >= v.max_message_bytes) {
    throw core::ConfigError("realtime.max_text_bytes (" + std::to_string(v.max_text_bytes) +
                            ") must be below realtime.max_message_bytes (" + std::to_string(v.max_message_bytes) +
                            "): a message carries its text and more");
  }
  realtime::RealtimeConfig c;
  c.feed_url = v.url;
  c.feed.history = static_cast<std::size_t>(v.history);
  c.feed.history_ttl = core::Millis(v.history_ttl_s * 1000);
  c.feed.dedupe_ttl = core::Millis(v.dedupe_ttl_s * 1000);
  c.feed.keep_history = v.resume;
  c.feed.poll_interval = core::Millis(v.poll_interval_ms);
  c.limits.max_message_bytes = static_cast<std::size_t>(v.max_message_bytes);
  c.limits.max_text_bytes = static_cast<std::size_t>(v.max_text_bytes);
  c.limits.messages_per_second = static_cast<int>(v.messages_per_second);
  c.limits.max_rooms = static_cast<int>(v.max_rooms);
  c.outbound_queue = static_cast<std::size_t>(v.outbound_queue);
  c.idle_timeout = core::Millis(v.idle_timeout_ms);
  c.close_grace = core::Millis(v.close_grace_ms);
  c.presence_ttl = core::Millis(v.presence_ttl_ms);
  c.allowed_origins = v.allowed_origins;
  return c;
}

}  // namespace outboard::app
