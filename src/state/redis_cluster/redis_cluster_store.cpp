#include "state/redis_cluster/redis_cluster_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <optional>
#include <stdexcept>

#include "state/redis/redis_router.hpp"
#include "state/redis_cluster/cluster_router.hpp"

namespace outboard::state {
namespace {

Result<void> load_slot_map_once(std::vector<redis_cluster::NodeAddress> const& seeds, std::string const& password,
                                core::Millis command_timeout);

// Each worker thread gets its own router (slot map and one connection per master) and store.
// No near-cache on a cluster: its invalidations would need a tracking connection per master.
class RedisClusterProvider final : public StoreProvider {
 public:
  RedisClusterProvider(StoreUrl const& url, StoreOptions const& options)
      : seeds_(redis_cluster::seed_nodes(url)),
        password_(url.password),
        command_timeout_(options.command_timeout),
        options_(options) {
    check_wait_options(options);
    if (options.near_cache_keys != 0) {
      spdlog::warn("redis-cluster: the near-cache is not available on a cluster; reads go to Redis");
    }
  }

  std::string_view backend() const override { return "redis-cluster"; }

  Result<void> probe() const { return load_slot_map_once(seeds_, password_, command_timeout_); }

  std::shared_ptr<Store> store_for(boost::asio::any_io_executor executor) override {
    auto router = std::make_shared<redis_cluster::ClusterRouter>(executor, seeds_, password_, command_timeout_);
    return make_routed_redis_store(std::move(executor), std::move(router), "redis-cluster", options_);
  }

 private:
  std::vector<redis_cluster::NodeAddress> seeds_;
  std::string password_;
  core::Millis command_timeout_;
  StoreOptions options_;  // what each thread's store is made with (its WAIT settings)
};

// Start-up only: one slot map loaded, blocking, so that a URL no node answers is an error at once
// (naming the nodes, never the password), not a 503 on every request after a "successful" start.
Result<void> load_slot_map_once(std::vector<redis_cluster::NodeAddress> const& seeds, std::string const& password,
                                core::Millis command_timeout) {
  boost::asio::io_context io;
  auto router = std::make_shared<redis_cluster::ClusterRouter>(io.get_executor(), seeds, password, command_timeout);
  std::optional<Result<void>> loaded;
  auto probe = [&]() -> boost::asio::awaitable<void> {
    loaded = co_await router->refresh(std::string());
    router->close();  // ends the connections' readers, so run() returns
  };
  boost::asio::co_spawn(io, probe(), boost::asio::detached);
  io.run();
  if (!loaded) return core::make_error(Errc::unavailable, "redis-cluster: the slot map load did not finish");
  return *loaded;
}

}  // namespace

std::unique_ptr<StoreProvider> make_redis_cluster_provider(StoreUrl const& url, StoreOptions const& options) {
  auto provider = std::make_unique<RedisClusterProvider>(url, options);
  if (auto loaded = provider->probe(); !loaded) {
    throw std::runtime_error("store URL '" + redact_store_url(url.raw) + "': " + loaded.error().context);
  }
  return provider;
}

}  // namespace outboard::state
