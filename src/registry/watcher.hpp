#pragma once
// A gateway's view of the shared truth (docs/TRUTH.md), on its own thread and event loop:
//   1. read every entry under the prefix (one range), publish it;
//   2. watch the prefix from the next revision, publishing each change as it comes;
//   3. meanwhile, every poll interval, read the prefix again: that confirms the view is current
//      (the "age of the truth" restarts), repairs anything a slow or stuck watch missed, and
//      when it fails, the watch is dropped and the loop starts over from 1 after the interval.
// While etcd cannot be reached the last published view stays in force (static stability):
// the watcher never publishes an empty view because of an error.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "registry/etcd_client.hpp"
#include "registry/member.hpp"

namespace boost::asio {
class io_context;
}

namespace outboard::registry {

struct WatcherOptions {
  std::vector<Endpoint> endpoints;
  std::string prefix = "/outboard/members/";
  core::Millis timeout{1000};  // one etcd call
  core::Millis poll{1000};     // between two confirming reads
};

// Read by /metrics on any thread; written by the watcher.
struct WatcherStatus {
  static constexpr std::array<double, 10> kBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
  std::atomic<std::int64_t> revision{0};        // etcd revision of the view in force
  std::atomic<std::int64_t> confirmed_at_ms{0};  // when etcd last confirmed it (0: never)
  std::atomic<bool> connected{false};
  std::atomic<std::uint64_t> skipped_entries{0};  // malformed entries, each counted once per read
  std::atomic<std::uint64_t> members{0};
  std::atomic<std::uint64_t> failures{0};  // failed reads or watches
  // Convergence: from a member's change (its changed_at_ms) to this gateway applying it.
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> convergence{};
  std::atomic<std::uint64_t> convergence_count{0};
  std::atomic<std::uint64_t> convergence_sum_ms{0};
  void observe_convergence(std::int64_t millis);
};

// The members by key, as of `revision`.
struct View {
  std::int64_t revision = 0;
  std::map<std::string, Member> members;  // key: host:port
};

class Watcher {
 public:
  // `publish` runs on the watcher's thread with each new view (a change in the member set or
  // in a member's state or weight).
  using Publish = std::function<void(View const&)>;
  Watcher(WatcherOptions options, core::Clock const& clock, Publish publish);
  ~Watcher();
  Watcher(Watcher const&) = delete;
  Watcher& operator=(Watcher const&) = delete;

  // One blocking read (bounded by the timeout) and its view published: the start-up check.
  core::Result<void> load();
  void start();
  void stop();
  WatcherStatus const& status() const { return status_; }

  struct Loop;  // its coroutines' shared state (watcher.cpp)

 private:
  WatcherOptions options_;
  core::Clock const& clock_;
  Publish publish_;
  WatcherStatus status_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::shared_ptr<Loop> loop_;
  std::thread thread_;
};

}  // namespace outboard::registry
