#include "state/redis/invalidation_listener.hpp"

#include <spdlog/spdlog.h>

#include <string_view>
#include <utility>

#include "state/redis/resp.hpp"

namespace outboard::state {
namespace {

constexpr std::string_view kChannel = "__redis__:invalidate";

}  // namespace

InvalidationListener::InvalidationListener(RedisEndpoint endpoint, std::shared_ptr<NearCache> cache,
                                           core::Millis heartbeat)
    : cache_(std::move(cache)),
      link_("redis near-cache invalidation connection", std::move(endpoint), heartbeat) {
  PubSubLink::Events events;
  // Answered in order: the client id (what data connections REDIRECT their tracking to), then the
  // subscription's confirmation.
  events.hello = {encode_command({"CLIENT", "ID"}), encode_command({"SUBSCRIBE", kChannel})};
  events.linked = [this](std::vector<Reply>& replies) { return linked(replies); };
  events.unlinked = [this] { unlinked(); };
  events.message = [this](std::string const&, Reply& payload) { invalidate(payload); };
  link_.start(std::move(events));
}

// Refused when CLIENT ID did not answer an id (a renamed command) or the SUBSCRIBE was not
// confirmed: the cache stays unlinked and the link retries with backoff.
bool InvalidationListener::linked(std::vector<Reply> const& replies) {
  if (replies.size() != 2) return false;
  Reply const& id = replies[0];
  Reply const& confirmed = replies[1];
  if (id.type != Reply::Type::integer) return false;
  if (confirmed.type != Reply::Type::array || confirmed.elements.empty() || confirmed.elements[0].str != "subscribe") {
    return false;
  }
  cache_->linked(id.integer);
  spdlog::info("redis near-cache: invalidations subscribed on {}:{} (client {})", link_.endpoint().host,
               link_.endpoint().port, id.integer);
  return true;
}

// Called before anything else can run on this thread: from here on Redis no longer tells us.
void InvalidationListener::unlinked() {
  cache_->unlinked();
  spdlog::warn("redis near-cache: invalidation connection to {}:{} lost; cache flushed, reads bypass it",
               link_.endpoint().host, link_.endpoint().port);
}

// A message's payload: the invalidated keys, or nil for FLUSHALL / FLUSHDB.
void InvalidationListener::invalidate(Reply const& payload) {
  if (payload.type == Reply::Type::nil) {
    cache_->invalidate_all();
  } else if (payload.type == Reply::Type::array) {
    for (Reply const& key : payload.elements) cache_->invalidate(key.str);
  } else {
    cache_->invalidate(payload.str);
  }
}

}  // namespace outboard::state
