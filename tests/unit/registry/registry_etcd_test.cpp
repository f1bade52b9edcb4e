// The registry against a real etcd (Debian's etcd-server, started per test on free loopback
// ports): a server's registration as a gateway's watcher sees it, through lease expiry, a cut-off
// and a leader's death.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <mutex>

#include "lab/etcd_cluster.hpp"
#include "registry/registration.hpp"
#include "registry/watcher.hpp"
#include "support/gateway_process.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

namespace outboard::registry {
namespace {

using namespace std::chrono_literals;
using testing::run_coro;
using testing::wait_until;
constexpr auto kLimit = 30s;  // only stops a hang; nothing here is timed
constexpr std::string_view kMembersPrefix = "/outboard/members/";

std::vector<Endpoint> endpoints_of(std::string const& url) {
  std::string error;
  return *parse_etcd_url(url, error);
}

// Starts its own etcd cluster and a watcher over it; the views it publishes are kept.
class RegistryEtcd : public ::testing::Test {
 protected:
  // `present`: entries written before the watcher's first read.
  void start(int members, std::vector<Member> const& present = {}) {
    etcd_ = std::make_unique<lab::EtcdCluster>(dir_.path(), members);
    run_coro(io_, etcd_->start());
    for (auto const& m : present) ASSERT_TRUE(put(std::string(kMembersPrefix) + m.address(), to_json(m)).has_value());
    WatcherOptions options;
    options.endpoints = endpoints_of(etcd_->url());
    options.poll = 100ms;
    options.timeout = 500ms;
    watcher_ = std::make_unique<Watcher>(options, clock_, [this](View const& view) {
      std::lock_guard lock(mutex_);
      view_ = view;
      ++views_;
    });
    ASSERT_TRUE(watcher_->load().has_value());
    watcher_->start();
  }

  void TearDown() override {
    if (watcher_) watcher_->stop();
  }

  std::optional<Member> member(std::string const& address) {
    std::lock_guard lock(mutex_);
    auto it = view_.members.find(address);
    if (it == view_.members.end()) return std::nullopt;
    return it->second;
  }
  std::size_t members() {
    std::lock_guard lock(mutex_);
    return view_.members.size();
  }

  core::Result<std::int64_t> put(std::string const& key, std::string const& value, std::int64_t lease = 0) {
    EtcdClient client(io_.get_executor(), endpoints_of(etcd_->url()), 1000ms);
    return run_coro(io_, client.put(key, value, lease));
  }

  RegistrationOptions registration_of(std::uint16_t port, std::int64_t ttl_s = 10) {
    RegistrationOptions o;
    o.endpoints = endpoints_of(etcd_->url());
    o.self.host = "127.0.0.1";
    o.self.port = port;
    o.ttl_s = ttl_s;
    o.timeout = 500ms;
    return o;
  }

  testing::TempDir dir_;
  boost::asio::io_context io_;
  core::SystemClock clock_;
  std::unique_ptr<lab::EtcdCluster> etcd_;
  std::unique_ptr<Watcher> watcher_;
  std::mutex mutex_;
  View view_;
  int views_ = 0;
};

TEST_F(RegistryEtcd, AServerRegistersDrainsAndLeavesAndTheWatcherFollows) {
  start(1);
  Registration registration(registration_of(18081), clock_);
  registration.start();
  ASSERT_TRUE(wait_until([&] { return member("127.0.0.1:18081").has_value(); }, kLimit));
  EXPECT_EQ(member("127.0.0.1:18081")->state, MemberState::up);
  // The watcher can see the entry before the registration has read etcd's answer to its put (a
  // CI run once checked in between): waited for as an event, not read once.
  EXPECT_TRUE(wait_until([&] { return registration.registered(); }, kLimit));

  registration.drain();
  ASSERT_TRUE(wait_until([&] { return member("127.0.0.1:18081")->state == MemberState::draining; }, kLimit));

  registration.stop();  // revokes the lease: the entry goes at once, not after the TTL
  ASSERT_TRUE(wait_until([&] { return members() == 0; }, kLimit));
  auto const& status = watcher_->status();
  EXPECT_GE(status.convergence_count.load(), 2u);  // the join and the drain were timed
  EXPECT_GT(status.revision.load(), 0);
  EXPECT_TRUE(status.connected.load());
}

// Regression: a gateway (re)started long after a member joined timed that join as its own
// convergence, from the member's old stamp (the lab saw 10 s for a restarted gateway).
TEST_F(RegistryEtcd, MembersPresentAtTheFirstReadAreNotTimedAsConvergence) {
  Member old{"127.0.0.1", 18086, MemberState::up, 1, clock_.now_ms() - 60'000};
  start(1, {old});
  ASSERT_TRUE(member(old.address()).has_value());
  EXPECT_EQ(watcher_->status().convergence_count.load(), 0u);

  Member joined{"127.0.0.1", 18087, MemberState::up, 1, clock_.now_ms()};
  ASSERT_TRUE(put(std::string(kMembersPrefix) + joined.address(), to_json(joined)).has_value());
  ASSERT_TRUE(wait_until([&] { return member(joined.address()).has_value(); }, kLimit));
  EXPECT_EQ(watcher_->status().convergence_count.load(), 1u);  // the join it saw happen
}

TEST_F(RegistryEtcd, AnEntryWhoseLeaseIsNotKeptAliveLeavesByItself) {
  start(1);
  // A server that registered and then died: nobody keeps its lease alive.
  EtcdClient client(io_.get_executor(), endpoints_of(etcd_->url()), 1000ms);
  auto lease = run_coro(io_, client.grant(2));
  ASSERT_TRUE(lease.has_value()) << lease.error().describe();
  Member dead{"127.0.0.1", 18082, MemberState::up, 1, clock_.now_ms()};
  ASSERT_TRUE(put(std::string(kMembersPrefix) + dead.address(), to_json(dead), *lease).has_value());
  ASSERT_TRUE(wait_until([&] { return member(dead.address()).has_value(); }, kLimit));
  ASSERT_TRUE(wait_until([&] { return !member(dead.address()).has_value(); }, kLimit));
}

TEST_F(RegistryEtcd, MalformedEntriesAreSkippedAndCounted) {
  start(1);
  ASSERT_TRUE(put(std::string(kMembersPrefix) + "127.0.0.1:18083", "{not json").has_value());
  ASSERT_TRUE(put(std::string(kMembersPrefix) + "127.0.0.1:18084",
                  R"({"address":"127.0.0.1:9999","state":"up"})").has_value());  // claims another name
  Member good{"127.0.0.1", 18085, MemberState::up, 2, clock_.now_ms()};
  ASSERT_TRUE(put(std::string(kMembersPrefix) + good.address(), to_json(good)).has_value());
  ASSERT_TRUE(wait_until([&] { return member(good.address()).has_value(); }, kLimit));
  EXPECT_EQ(members(), 1u);
  EXPECT_EQ(member(good.address())->weight, 2u);
  EXPECT_GE(watcher_->status().skipped_entries.load(), 2u);
}

TEST_F(RegistryEtcd, CutOffTheWatcherKeepsItsLastTruthAndCatchesUpWhenEtcdReturns) {
  start(1);
  Member a{"127.0.0.1", 18086, MemberState::up, 1, clock_.now_ms()};
  ASSERT_TRUE(put(std::string(kMembersPrefix) + a.address(), to_json(a)).has_value());
  ASSERT_TRUE(wait_until([&] { return member(a.address()).has_value(); }, kLimit));

  etcd_->kill(0);
  ASSERT_TRUE(wait_until([&] { return !watcher_->status().connected.load(); }, kLimit));
  EXPECT_TRUE(member(a.address()).has_value());  // static stability: the last truth stays
  auto failures = watcher_->status().failures.load();
  EXPECT_GE(failures, 1u);

  run_coro(io_, etcd_->restart(0));
  Member b{"127.0.0.1", 18087, MemberState::up, 1, clock_.now_ms()};
  ASSERT_TRUE(put(std::string(kMembersPrefix) + b.address(), to_json(b)).has_value());
  ASSERT_TRUE(wait_until([&] { return member(b.address()).has_value(); }, kLimit));
  EXPECT_TRUE(member(a.address()).has_value());
  EXPECT_TRUE(watcher_->status().connected.load());
}

TEST_F(RegistryEtcd, TheLeadersDeathDoesNotStopRegistrationOrWatching) {
  start(3);
  Registration registration(registration_of(18088), clock_);
  registration.start();
  ASSERT_TRUE(wait_until([&] { return member("127.0.0.1:18088").has_value(); }, kLimit));

  auto leader = run_coro(io_, etcd_->leader());
  ASSERT_TRUE(leader.has_value());
  etcd_->kill(*leader);
  Member c{"127.0.0.1", 18089, MemberState::up, 1, clock_.now_ms()};
  ASSERT_TRUE(wait_until([&] { return put(std::string(kMembersPrefix) + c.address(), to_json(c)).has_value(); }, kLimit));
  ASSERT_TRUE(wait_until([&] { return member(c.address()).has_value(); }, kLimit));
  registration.drain();  // the registration, too, reaches the cluster through a living member
  ASSERT_TRUE(wait_until([&] { return member("127.0.0.1:18088")->state == MemberState::draining; }, kLimit));
}

}  // namespace
}  // namespace outboard::registry
