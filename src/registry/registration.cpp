#include "registry/registration.hpp"
#include "core/use_nothrow.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace outboard::registry {
namespace asio = boost::asio;
namespace {
using core::use_nothrow;
}

struct Registration::Loop {
  Loop(RegistrationOptions const& o, core::Clock const& c, std::atomic<bool>& r, asio::io_context& io)
      : options(o), clock(c), registered(r), client(io.get_executor(), o.endpoints, o.timeout), timer(io) {
    self = o.self;
  }
  RegistrationOptions const& options;
  core::Clock const& clock;
  std::atomic<bool>& registered;
  EtcdClient client;
  asio::steady_timer timer;
  Member self;
  std::int64_t lease = 0;
  bool stopping = false;
  bool warned = false;

  std::string key() const { return options.prefix + self.address(); }

  void failed(std::string_view step, core::Error const& error) {
    registered.store(false, std::memory_order_relaxed);
    if (!warned) spdlog::warn("registry: {} failed: {}; retrying", step, error.describe());
    warned = true;
  }

  // Grant a lease when there is none, then put the entry under it.
  asio::awaitable<bool> put_entry() {
    if (lease == 0) {
      auto granted = co_await client.grant(options.ttl_s);
      if (!granted) {
        failed("lease grant", granted.error());
        co_return false;
      }
      lease = *granted;
    }
    auto put = co_await client.put(key(), to_json(self), lease);
    if (!put) {
      lease = 0;  // most likely the lease is gone: the next round grants a new one
      failed("put", put.error());
      co_return false;
    }
    if (warned || !registered.load(std::memory_order_relaxed)) {
      spdlog::info("registry: {} registered as {} ({})", key(), to_string(self.state), self.address());
    }
    warned = false;
    registered.store(true, std::memory_order_relaxed);
    co_return true;
  }

  asio::awaitable<void> keep_alive() {
    if (!registered.load(std::memory_order_relaxed)) {
      co_await put_entry();
      co_return;
    }
    auto ttl = co_await client.keepalive(lease);
    if (!ttl) {
      failed("keep-alive", ttl.error());  // the lease may still live: the next keep-alive tells
      registered.store(true, std::memory_order_relaxed);
      co_return;
    }
    if (*ttl == 0) {  // expired while we were cut off: etcd removed the entry
      spdlog::warn("registry: lease of {} expired; registering again", key());
      lease = 0;
      registered.store(false, std::memory_order_relaxed);
      co_await put_entry();
    }
  }
};

asio::awaitable<void> run_registration(std::shared_ptr<Registration::Loop> loop) {
  auto interval = std::chrono::milliseconds(std::max<std::int64_t>(loop->options.ttl_s * 1000 / 3, 100));
  co_await loop->put_entry();
  while (!loop->stopping) {
    loop->timer.expires_after(interval);
    co_await loop->timer.async_wait(use_nothrow);  // cancelled by stop(): `stopping` says so
    if (loop->stopping) break;
    co_await loop->keep_alive();
  }
}

asio::awaitable<void> mark_draining(std::shared_ptr<Registration::Loop> loop) {
  if (loop->self.state == MemberState::draining) co_return;
  loop->self.state = MemberState::draining;
  loop->self.changed_at_ms = loop->clock.now_ms();
  co_await loop->put_entry();
}

asio::awaitable<void> deregister(std::shared_ptr<Registration::Loop> loop) {
  loop->stopping = true;
  loop->timer.cancel();
  if (loop->lease == 0) co_return;
  auto revoked = co_await loop->client.revoke(loop->lease);
  if (!revoked) spdlog::warn("registry: revoking the lease failed ({}); the entry expires with it", revoked.error().describe());
  loop->registered.store(false, std::memory_order_relaxed);
}

Registration::Registration(RegistrationOptions options, core::Clock const& clock)
    : options_(std::move(options)), clock_(clock), io_(std::make_unique<asio::io_context>(1)) {
  if (options_.self.changed_at_ms == 0) options_.self.changed_at_ms = clock_.now_ms();
  loop_ = std::make_shared<Loop>(options_, clock_, registered_, *io_);
}

Registration::~Registration() {
  stop();
  loop_.reset();
  io_.reset();
}

void Registration::start() {
  asio::co_spawn(*io_, run_registration(loop_), asio::detached);
  thread_ = std::thread([this] { io_->run(); });
}

void Registration::drain() {
  if (thread_.joinable()) asio::co_spawn(*io_, mark_draining(loop_), asio::detached);
}

void Registration::stop() {
  if (!thread_.joinable()) return;
  // The revoke ends the last coroutine; the loop then runs out of work and the thread returns.
  asio::co_spawn(*io_, deregister(loop_), asio::detached);
  thread_.join();
}

}  // namespace outboard::registry
