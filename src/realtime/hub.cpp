#include "realtime/hub.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "core/random.hpp"
#include "realtime/connection.hpp"
#include "realtime/protocol.hpp"

namespace outboard::realtime {

namespace asio = boost::asio;

// --- ThreadHub ---

ThreadHub::ThreadHub(Hub& hub, asio::any_io_executor executor, state::Store& presence_store, int shard)
    : hub_(hub),
      executor_(executor),
      feed_(hub.feed().feed_for(executor)),
      presence_(presence_store, hub.clock(), hub.config().presence_ttl),
      metrics_(hub.metrics().shard(shard)),
      id_prefix_(hub.instance() + "." + core::hex_encode(core::random_bytes(4)) + ".") {
  hub_.attach(*this);
  asio::co_spawn(executor_, refresh_presence(*this), asio::detached);
}

ThreadHub::~ThreadHub() { hub_.detach(*this); }

RealtimeConfig const& ThreadHub::config() const { return hub_.config(); }
core::Clock const& ThreadHub::clock() const { return hub_.clock(); }
std::string const& ThreadHub::instance() const { return hub_.instance(); }

std::string ThreadHub::next_connection_id() { return id_prefix_ + std::to_string(++issued_); }

void ThreadHub::add(Connection& connection) { connections_.insert(&connection); }

void ThreadHub::remove(Connection& connection) {
  connections_.erase(&connection);
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    auto& members = it->second;
    if (members.erase(&connection) > 0 && members.empty()) {
      hub_.unwatch(it->first, *this);
      it = rooms_.erase(it);
    } else {
      ++it;
    }
  }
}

void ThreadHub::join(std::string const& room, Connection& connection) {
  auto& members = rooms_[room];
  bool first = members.empty();
  members.insert(&connection);
  if (first) hub_.watch(room, *this);
}

void ThreadHub::leave(std::string const& room, Connection& connection) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  if (it->second.erase(&connection) > 0 && it->second.empty()) {
    rooms_.erase(it);
    hub_.unwatch(room, *this);
  }
}

void ThreadHub::deliver(std::string const& room, std::vector<state::FeedEntry> const& entries) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  // Encoded once for every member of this thread.
  std::vector<Frame> frames;
  frames.reserve(entries.size());
  for (auto const& entry : entries) {
    auto text = encode_delivery(room, entry.seq, entry.body);
    if (!text) continue;  // not a message this server wrote: skipped, the cursor rule sees a gap
    frames.push_back(Frame{entry.seq, std::make_shared<std::string const>(std::move(*text))});
  }
  if (frames.empty()) return;
  // A copy: a member may leave (and so change the set) while it takes the frames.
  std::vector<Connection*> members(it->second.begin(), it->second.end());
  for (auto* member : members) member->on_frames(room, frames);
}

void ThreadHub::recheck(std::string const& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  std::vector<Connection*> members(it->second.begin(), it->second.end());
  for (auto* member : members) member->recheck(room);
}

void ThreadHub::recheck_all() {
  std::vector<std::string> rooms;
  for (auto const& [room, members] : rooms_) rooms.push_back(room);
  for (auto const& room : rooms) recheck(room);
}

void ThreadHub::drain() {
  draining_ = true;
  std::vector<Connection*> all(connections_.begin(), connections_.end());
  for (auto* connection : all) connection->go_away();
}

asio::awaitable<void> ThreadHub::refresh_presence(ThreadHub& self) {
  // Every third of the TTL, so a member survives two missed refreshes' worth of delay.
  auto period = std::chrono::milliseconds(std::max<std::int64_t>(self.config().presence_ttl.count() / 3, 1));
  asio::steady_timer timer(self.executor_);
  for (;;) {
    timer.expires_after(period);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (auto done = co_await self.presence_.refresh(); !done) {
      spdlog::debug("presence refresh failed: {}", done.error().describe());
    }
  }
}

// --- Hub ---

Hub::Hub(RealtimeConfig config, state::StoreOptions const& store_options, core::Clock const& clock,
         std::string instance_id, int threads)
    : config_(std::move(config)), clock_(clock), instance_(std::move(instance_id)), metrics_(threads) {
  feed_ = state::open_feed(config_.feed_url, store_options, config_.feed);
}

Hub::~Hub() { stop(); }

void Hub::start() {
  feed_->start(*this);
  started_ = true;
}

void Hub::stop() {
  if (started_) feed_->stop();
  started_ = false;
  std::lock_guard lock(mutex_);
  threads_.clear();
  rooms_.clear();
}

void Hub::drain() {
  std::lock_guard lock(mutex_);
  for (auto* thread : threads_) asio::post(thread->executor(), [thread] { thread->drain(); });
}

void Hub::attach(ThreadHub& thread) {
  std::lock_guard lock(mutex_);
  threads_.push_back(&thread);
}

void Hub::detach(ThreadHub& thread) {
  std::lock_guard lock(mutex_);
  std::erase(threads_, &thread);
  for (auto& [room, threads] : rooms_) std::erase(threads, &thread);
}

void Hub::watch(std::string const& room, ThreadHub& thread) {
  {
    std::lock_guard lock(mutex_);
    rooms_[room].push_back(&thread);
  }
  // Outside the lock: a backend may call watching() (which locks) from here.
  feed_->watch(room);
}

void Hub::unwatch(std::string const& room, ThreadHub& thread) {
  {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(room);
    if (it != rooms_.end()) {
      std::erase(it->second, &thread);
      if (it->second.empty()) rooms_.erase(it);
    }
  }
  feed_->unwatch(room);
}

void Hub::entries(std::string const& room, std::vector<state::FeedEntry> entries) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  auto shared = std::make_shared<std::vector<state::FeedEntry> const>(std::move(entries));
  for (auto* thread : it->second) {
    asio::post(thread->executor(), [thread, room, shared] { thread->deliver(room, *shared); });
  }
}

void Hub::resync() {
  std::lock_guard lock(mutex_);
  for (auto* thread : threads_) asio::post(thread->executor(), [thread] { thread->recheck_all(); });
}

void Hub::watching(std::string const& room) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  for (auto* thread : it->second) asio::post(thread->executor(), [thread, room] { thread->recheck(room); });
}

}  // namespace outboard::realtime
