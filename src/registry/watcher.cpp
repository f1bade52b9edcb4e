#include "registry/watcher.hpp"
#include "core/use_nothrow.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <future>

namespace outboard::registry {
namespace asio = boost::asio;
namespace {
using core::use_nothrow;

bool same(Member const& a, Member const& b) {
  return a.host == b.host && a.port == b.port && a.state == b.state && a.weight == b.weight &&
         a.changed_at_ms == b.changed_at_ms;
}
}  // namespace

void WatcherStatus::observe_convergence(std::int64_t millis) {
  if (millis < 0) millis = 0;  // clocks of two processes on one machine agree; a skew is not a negative time
  double seconds = static_cast<double>(millis) / 1000.0;
  std::size_t slot = 0;
  while (slot < kBuckets.size() && seconds > kBuckets[slot]) ++slot;
  convergence[slot].fetch_add(1, std::memory_order_relaxed);
  convergence_count.fetch_add(1, std::memory_order_relaxed);
  convergence_sum_ms.fetch_add(static_cast<std::uint64_t>(millis), std::memory_order_relaxed);
}

// Everything the watcher's coroutines share; lives on the watcher's thread only.
struct Watcher::Loop {
  Loop(WatcherOptions const& o, core::Clock const& c, Publish const& p, WatcherStatus& s, asio::io_context& io)
      : options(o), clock(c), publish(p), status(s), client(io.get_executor(), o.endpoints, o.timeout), timer(io) {}

  WatcherOptions const& options;
  core::Clock const& clock;
  Publish const& publish;
  WatcherStatus& status;
  EtcdClient client;
  asio::steady_timer timer;
  View view;
  bool stopping = false;
  bool watching = false;
  bool warned_down = false;
  // The first view a gateway adopts holds members that joined before it started: their stamps say
  // when they joined, not how long this gateway took to learn it (a restarted gateway timed 10 s).
  bool adopted_once = false;

  std::string member_key(std::string const& etcd_key) const { return etcd_key.substr(options.prefix.size()); }

  // Publishes `next` when it differs from the view in force, timing each changed member.
  void adopt(View next) {
    bool changed = next.members.size() != view.members.size();
    auto now = clock.now_ms();
    for (auto const& [key, member] : next.members) {
      auto old = view.members.find(key);
      if (old != view.members.end() && same(old->second, member)) continue;
      changed = true;
      if (adopted_once && member.changed_at_ms > 0) status.observe_convergence(now - member.changed_at_ms);
    }
    adopted_once = true;
    view.revision = next.revision;
    status.revision.store(next.revision, std::memory_order_relaxed);
    if (!changed) return;
    view = std::move(next);
    status.members.store(view.members.size(), std::memory_order_relaxed);
    publish(view);
  }

  void put(View& next, etcd::KeyValue const& kv) {
    auto member = parse_member(kv.key, options.prefix, kv.value);
    if (!member) {
      status.skipped_entries.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("registry: skipped a malformed entry under {}", options.prefix);
      next.members.erase(member_key(kv.key));  // its earlier value is superseded, and not trusted either
      return;
    }
    next.members[member_key(kv.key)] = std::move(*member);
  }

  void apply_range(etcd::Range const& range) {
    View next;
    next.revision = range.revision;
    for (auto const& kv : range.kvs) put(next, kv);
    adopt(std::move(next));
  }

  bool apply_watch(etcd::WatchMessage const& message) {
    if (message.compact_revision > 0 || message.canceled) return false;  // start over from a read
    if (message.events.empty()) return true;
    View next = view;
    next.revision = message.revision;
    for (auto const& event : message.events) {
      if (event.deleted) {
        if (event.kv.key.size() > options.prefix.size()) next.members.erase(member_key(event.kv.key));
      } else {
        put(next, event.kv);
      }
    }
    adopt(std::move(next));
    return true;
  }

  void confirmed() {
    status.connected.store(true, std::memory_order_relaxed);
    status.confirmed_at_ms.store(clock.now_ms(), std::memory_order_relaxed);
    if (warned_down) spdlog::info("registry: reachable again (revision {})", view.revision);
    warned_down = false;
  }

  void unreachable(core::Error const& error) {
    status.connected.store(false, std::memory_order_relaxed);
    status.failures.fetch_add(1, std::memory_order_relaxed);
    if (!warned_down) {
      spdlog::warn("registry: {}; keeping the last truth in force (revision {}, {} members)", error.describe(),
                   view.revision, view.members.size());
    }
    warned_down = true;
  }

  asio::awaitable<bool> read() {
    auto range = co_await client.range_prefix(options.prefix);
    if (!range) {
      unreachable(range.error());
      co_return false;
    }
    apply_range(*range);
    confirmed();
    co_return true;
  }

  asio::awaitable<bool> pause(core::Millis interval) {
    timer.expires_after(interval);
    co_await timer.async_wait(use_nothrow);  // cancelled by stop(): `stopping` says so
    co_return !stopping;
  }
};

// Free coroutines with a shared_ptr by value: nothing a lambda captures lives across a
// suspension (g++ 12), and the Loop outlives every coroutine that uses it.
asio::awaitable<void> run_watch(std::shared_ptr<Watcher::Loop> loop) {
  loop->watching = true;
  auto error = co_await loop->client.watch(loop->options.prefix, loop->view.revision + 1,
                                           [&loop](etcd::WatchMessage const& m) { return loop->apply_watch(m); });
  loop->watching = false;
  if (!loop->stopping) spdlog::debug("registry: watch ended: {}", error.describe());
}

asio::awaitable<void> run_loop(std::shared_ptr<Watcher::Loop> loop) {
  while (!loop->stopping) {
    bool ok = co_await loop->read();
    if (ok && !loop->watching) asio::co_spawn(loop->timer.get_executor(), run_watch(loop), asio::detached);
    if (!ok) loop->client.cancel_watch();
    if (!co_await loop->pause(loop->options.poll)) break;
  }
}

Watcher::Watcher(WatcherOptions options, core::Clock const& clock, Publish publish)
    : options_(std::move(options)), clock_(clock), publish_(std::move(publish)), io_(std::make_unique<asio::io_context>(1)) {
  loop_ = std::make_shared<Loop>(options_, clock_, publish_, status_, *io_);
}

Watcher::~Watcher() {
  stop();
  loop_.reset();
  io_.reset();
}

core::Result<void> Watcher::load() {
  std::promise<core::Result<void>> done;
  asio::co_spawn(*io_, [](std::shared_ptr<Loop> loop) -> asio::awaitable<core::Result<void>> {
    auto range = co_await loop->client.range_prefix(loop->options.prefix);
    if (!range) co_return range.error();
    loop->apply_range(*range);
    loop->confirmed();
    co_return core::Result<void>{};
  }(loop_), [&done](std::exception_ptr e, core::Result<void> result) {
    if (e) result = core::make_error(core::Errc::internal, "registry: the first read failed");
    done.set_value(std::move(result));
  });
  io_->run();
  io_->restart();
  return done.get_future().get();
}

void Watcher::start() {
  asio::co_spawn(*io_, run_loop(loop_), asio::detached);
  thread_ = std::thread([this] { io_->run(); });
}

void Watcher::stop() {
  if (!thread_.joinable()) return;
  asio::post(*io_, [loop = loop_] {
    loop->stopping = true;
    loop->client.cancel_watch();
    loop->timer.cancel();
  });
  io_->stop();  // the calls in flight are bounded by the timeout; they are not waited for
  thread_.join();
}

}  // namespace outboard::registry
