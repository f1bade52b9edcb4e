#include "state/redis/redis_feed_reader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <optional>
#include <string_view>

#include "state/redis/resp.hpp"

namespace outboard::state {
namespace {

constexpr std::string_view kChannelPrefix = "rt:";

std::string channel_of(std::string const& room) { return std::string(kChannelPrefix) + room; }

// "<seq>:<body>", as the append script publishes it; nullopt for anything else.
std::optional<FeedEntry> parse_payload(std::string const& payload) {
  auto colon = payload.find(':');
  if (colon == std::string::npos) return std::nullopt;
  FeedEntry entry;
  auto [ptr, ec] = std::from_chars(payload.data(), payload.data() + colon, entry.seq);
  if (ec != std::errc{} || ptr != payload.data() + colon || entry.seq <= 0) return std::nullopt;
  entry.body = payload.substr(colon + 1);
  return entry;
}

// One SUBSCRIBE (or UNSUBSCRIBE) for many channels.
std::string encode_channels(std::string_view verb, std::vector<std::string> const& rooms) {
  std::vector<std::string> channels;
  channels.reserve(rooms.size());
  for (auto const& room : rooms) channels.push_back(channel_of(room));
  std::vector<std::string_view> args{verb};
  args.insert(args.end(), channels.begin(), channels.end());
  return encode_command(args);
}

// The room of one of our channels; nullopt for any other channel.
std::optional<std::string> room_of(std::string const& channel) {
  if (!channel.starts_with(kChannelPrefix)) return std::nullopt;
  return channel.substr(kChannelPrefix.size());
}

}  // namespace

RedisFeedReader::RedisFeedReader(std::vector<RedisEndpoint> nodes, core::Millis heartbeat)
    : link_("redis feed reader", std::move(nodes), heartbeat) {}

RedisFeedReader::~RedisFeedReader() { stop(); }

void RedisFeedReader::start(FeedSink& sink) {
  if (link_.started()) return;
  sink_ = &sink;
  PubSubLink::Events events;
  events.linked = [this](std::vector<Reply>&) {
    linked();
    return true;
  };
  events.unlinked = [this] { unlinked(); };
  events.message = [this](std::string const& channel, Reply& payload) { message(channel, payload); };
  events.subscribed = [this](std::string const& channel) { subscribed(channel); };
  events.read_done = [this] { flush(); };
  link_.start(std::move(events));
}

void RedisFeedReader::stop() { link_.stop(); }

void RedisFeedReader::watch(std::string const& room) {
  if (!watches_.add(room)) return;
  // A room watched again before its UNSUBSCRIBE went out is still subscribed: no confirmation
  // will come, so watching() is told here (its messages were dropped while it was unwatched).
  link_.post([this, room] {
    bool const still_subscribed = subscribed_.contains(room);
    sync();
    if (still_subscribed && link_.live()) sink_->watching(room);
  });
}

void RedisFeedReader::unwatch(std::string const& room) {
  if (watches_.remove(room)) link_.post([this] { sync(); });
}

// Link thread, posted by watch() and unwatch() (after stop() the handler never runs and goes
// with the io_context). One SUBSCRIBE for the rooms newly watched and one UNSUBSCRIBE for those no
// longer watched. Without a live link there is nothing to do: the next link subscribes to all.
void RedisFeedReader::sync() {
  if (!link_.live()) return;
  std::set<std::string> wanted = watches_.rooms();
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::set_difference(wanted.begin(), wanted.end(), subscribed_.begin(), subscribed_.end(), std::back_inserter(added));
  std::set_difference(subscribed_.begin(), subscribed_.end(), wanted.begin(), wanted.end(), std::back_inserter(removed));
  if (!added.empty()) link_.send(encode_channels("SUBSCRIBE", added));
  if (!removed.empty()) link_.send(encode_channels("UNSUBSCRIBE", removed));
  subscribed_ = std::move(wanted);
}

// Link thread, right after the handshake: every watched room in one SUBSCRIBE; resync() once
// all are confirmed (at once when none is watched), so a receiver that re-reads its rooms then
// misses nothing appended after.
void RedisFeedReader::linked() {
  spdlog::info("redis feed reader connected to {}:{}", link_.endpoint().host, link_.endpoint().port);
  subscribed_ = watches_.rooms();
  before_resync_ = subscribed_.size();
  if (subscribed_.empty()) {
    sink_->resync();
    return;
  }
  link_.send(encode_channels("SUBSCRIBE", std::vector<std::string>(subscribed_.begin(), subscribed_.end())));
}

void RedisFeedReader::unlinked() {
  subscribed_.clear();
  spdlog::warn("redis feed reader lost its connection to {}:{}; reconnecting", link_.endpoint().host,
               link_.endpoint().port);
}

void RedisFeedReader::message(std::string const& channel, Reply& payload) {
  auto room = room_of(channel);
  if (!room) return;
  auto entry = parse_payload(payload.str);
  if (!entry) return;
  if (batch_.empty() || batch_.back().first != *room) batch_.emplace_back(std::move(*room), std::vector<FeedEntry>{});
  batch_.back().second.push_back(std::move(*entry));
}

void RedisFeedReader::subscribed(std::string const& channel) {
  auto room = room_of(channel);
  if (!room) return;
  flush();  // what came before the confirmation goes first
  if (watches_.contains(*room)) sink_->watching(*room);
  if (before_resync_ > 0 && --before_resync_ == 0) sink_->resync();
}

// Rooms unwatched since their messages left Redis are skipped here.
void RedisFeedReader::flush() {
  for (auto& [room, entries] : batch_) {
    if (watches_.contains(room)) sink_->entries(room, std::move(entries));
  }
  batch_.clear();
}

}  // namespace outboard::state
