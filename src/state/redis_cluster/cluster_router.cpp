#include "state/redis_cluster/cluster_router.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>

#include "state/redis_cluster/key_slot.hpp"
#include "core/use_nothrow.hpp"

namespace outboard::state::redis_cluster {

std::vector<NodeAddress> seed_nodes(StoreUrl const& url) {
  std::vector<NodeAddress> seeds;
  for (auto const& [host, port] : url.nodes) seeds.push_back({host, port});
  if (seeds.empty()) seeds.push_back({url.host, url.port});
  return seeds;
}
namespace {

namespace asio = boost::asio;
using core::use_nothrow;

core::Error unavailable(std::string why) { return core::make_error(Errc::unavailable, "redis-cluster: " + std::move(why)); }

// Errors name the slot, never the key: a key may hold a session token.
std::string slot_of(std::string const& key) { return std::to_string(key_slot(key)); }

std::string asking_command() { return encode_command({"ASKING"}); }

bool starts_with_word(std::string const& text, std::string_view word) {
  return text.starts_with(word) && (text.size() == word.size() || text[word.size()] == ' ');
}

}  // namespace

ClusterRouter::ClusterRouter(asio::any_io_executor executor, std::vector<NodeAddress> seeds, std::string password,
                             core::Millis command_timeout)
    : executor_(std::move(executor)),
      seeds_(std::move(seeds)),
      password_(std::move(password)),
      command_timeout_(command_timeout),
      last_load_error_(unavailable("the slot map was never loaded")) {}

ClusterRouter::Connection ClusterRouter::connection_to(NodeAddress const& address) {
  auto [it, inserted] = connections_.try_emplace(address.name());
  if (inserted) {
    RedisEndpoint endpoint;
    endpoint.host = address.host;
    endpoint.port = address.port;
    endpoint.password = password_;
    endpoint.command_timeout = command_timeout_;
    it->second = RedisConnection::create(executor_, std::move(endpoint));
    if (closed_) it->second->close();
  }
  return it->second;
}

std::optional<NodeAddress> ClusterRouter::owner_of(std::string const& key) const {
  if (map_.masters.empty()) return std::nullopt;
  // No key (PING): any master will do.
  if (key.empty()) return map_.masters.front();
  std::uint16_t index = map_.owner[key_slot(key)];
  if (index == SlotMap::kNobody) return std::nullopt;
  return map_.masters[index];
}

Result<void> ClusterRouter::one_command_may_touch(std::span<std::string_view const> keys) const {
  if (keys.empty()) return {};
  std::uint16_t slot = key_slot(keys.front());
  for (std::string_view key : keys.subspan(1)) {
    if (key_slot(key) == slot) continue;
    return core::make_error(Errc::invalid, "redis-cluster: keys of one transaction must share a {tag}: '" +
                                               std::string(keys.front()) + "' and '" + std::string(key) +
                                               "' hash to different slots");
  }
  return {};
}

void ClusterRouter::close() {
  closed_ = true;
  for (auto& [name, conn] : connections_) conn->close();
}

asio::awaitable<Result<Reply>> ClusterRouter::execute(std::string command, std::string key, Repeat repeat,
                                                      AnsweredOn* answered) {
  auto self = shared_from_this();  // a background reload must not outlive us mid-flight either
  if (closed_) co_return unavailable("store closed");
  if (map_.masters.empty()) {
    auto loaded = co_await refresh(std::string());
    if (!loaded && map_.masters.empty()) co_return loaded.error();
  }
  auto target = owner_of(key);
  bool asking = false;
  for (int attempt = 0; attempt <= kMaxRedirects; ++attempt) {
    if (!target) {
      // Our map has nobody on this slot: reload once (its outcome shows in the map); still
      // nobody is the cluster's own outage.
      Result<void> reloaded = co_await refresh(std::string());
      (void)reloaded;
      target = owner_of(key);
      if (!target) co_return unavailable("no master serves slot " + slot_of(key));
    }
    Connection conn = connection_to(*target);
    std::string sent = command;  // kept: a redirection sends it again
    // Named before the co_await: g++ 12 mishandles temporaries inside co_await expressions.
    std::uint64_t serial = 0;
    auto pending = asking ? conn->execute_after(asking_command(), std::move(sent), &serial)
                          : conn->execute(std::move(sent), &serial);
    Result<Reply> reply = co_await std::move(pending);
    asking = false;
    if (reply && answered) *answered = AnsweredOn{conn, serial};
    if (!reply) {
      // The node did not answer: it may be dead and its replica promoted. Reload from another.
      core::Error failed = reply.error();
      if (repeat == Repeat::unsafe) {
        refresh_in_background();
        co_return unavailable(failed.context + " (not retried: it may have run)");
      }
      auto reloaded = co_await refresh(target->name());
      auto next = owner_of(key);
      if (!reloaded || !next) co_return failed;
      target = std::move(next);
      continue;
    }
    if (!reply->is_error()) co_return reply;
    std::string const& error = reply->str;
    if (auto redirect = parse_redirect(error)) {
      if (redirect->kind == Redirect::Kind::moved) {
        if (!map_.owner.empty()) map_.owner[redirect->slot] = map_.index_of(redirect->target);
        refresh_in_background();
      } else {
        asking = true;
      }
      target = redirect->target;
      continue;
    }
    if (starts_with_word(error, "CLUSTERDOWN") || starts_with_word(error, "TRYAGAIN") ||
        starts_with_word(error, "MASTERDOWN")) {
      co_return unavailable(target->name() + ": " + error);
    }
    if (starts_with_word(error, "CROSSSLOT")) {
      co_return core::make_error(Errc::invalid, "redis-cluster: keys of one command must share a {tag}: " + error);
    }
    co_return reply;  // the command's own error: the store decodes it
  }
  co_return unavailable("slot " + slot_of(key) + " still redirected after " + std::to_string(kMaxRedirects) + " hops");
}

asio::awaitable<Result<void>> ClusterRouter::refresh(std::string avoid) {
  if (reloading_) {
    auto running = reloading_;
    co_await running->async_wait(use_nothrow);
    if (map_.masters.empty()) co_return last_load_error_;
    co_return Result<void>{};
  }
  reloading_ = std::make_shared<asio::steady_timer>(executor_, std::chrono::steady_clock::time_point::max());
  auto loaded = co_await load_map(std::move(avoid));
  auto done = std::move(reloading_);
  reloading_.reset();
  done->cancel();
  co_return loaded;
}

asio::awaitable<Result<void>> ClusterRouter::load_map(std::string avoid) {
  // Who to ask: the masters we know, then the seeds (replicas among them), the suspect last.
  std::vector<NodeAddress> candidates;
  auto add = [&](NodeAddress const& node) {
    if (std::find(candidates.begin(), candidates.end(), node) == candidates.end()) candidates.push_back(node);
  };
  for (auto const& node : map_.masters) add(node);
  for (auto const& node : seeds_) add(node);
  std::stable_partition(candidates.begin(), candidates.end(), [&](NodeAddress const& n) { return n.name() != avoid; });
  std::string tried;
  for (auto const& node : candidates) {
    if (closed_) break;
    Connection conn = connection_to(node);
    std::string ask_slots = encode_command({"CLUSTER", "SLOTS"});
    auto pending = conn->execute(std::move(ask_slots));
    auto reply = co_await std::move(pending);
    if (!reply) {
      tried += " " + reply.error().context + ";";
      continue;
    }
    if (reply->is_error()) {
      tried += " " + node.name() + ": " + reply->str + ";";
      continue;
    }
    auto map = parse_cluster_slots(*reply, node.host);
    if (!map || map->masters.empty()) {
      tried += " " + node.name() + ": " + (map ? std::string("serves no slots") : map.error().context) + ";";
      continue;
    }
    map_ = std::move(*map);
    co_return Result<void>{};
  }
  last_load_error_ = unavailable("no node gave the slot map:" + tried);
  co_return last_load_error_;
}

void ClusterRouter::refresh_in_background() {
  if (reloading_ || closed_) return;
  asio::co_spawn(executor_, background_refresh(shared_from_this()), log_if_thrown);
}

asio::awaitable<void> ClusterRouter::background_refresh(std::shared_ptr<ClusterRouter> self) {
  co_await self->refresh(std::string());
}

}  // namespace outboard::state::redis_cluster
