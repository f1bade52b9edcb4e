#pragma once
// A small client of etcd's v3 JSON gateway (HTTP/1.1 POSTs, one connection per call): enough
// for a registry (leases, put, prefix range, prefix watch). No gRPC. Several endpoints (the
// members of one cluster) are tried in turn, starting with the last that answered, so a dead
// member or a lost leader costs one failed connect, not the registry.
//
// Runs on one event loop (the caller's); not thread-safe.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "registry/etcd_wire.hpp"

namespace outboard::registry {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

// "etcd://host:port[,host:port...]": the endpoints, or nullopt (with `error` naming why).
std::optional<std::vector<Endpoint>> parse_etcd_url(std::string_view url, std::string& error);

class EtcdClient {
 public:
  EtcdClient(boost::asio::any_io_executor executor, std::vector<Endpoint> endpoints, core::Millis timeout);
  ~EtcdClient();

  boost::asio::awaitable<core::Result<std::int64_t>> grant(std::int64_t ttl_s);
  // Remaining TTL; 0 when the lease is gone (expired or revoked).
  boost::asio::awaitable<core::Result<std::int64_t>> keepalive(std::int64_t lease);
  boost::asio::awaitable<core::Result<std::int64_t>> revoke(std::int64_t lease);
  boost::asio::awaitable<core::Result<std::int64_t>> put(std::string key, std::string value, std::int64_t lease);
  boost::asio::awaitable<core::Result<etcd::Range>> range_prefix(std::string prefix);
  // The answering member's id and its leader's (for a client of one endpoint: that member's).
  boost::asio::awaitable<core::Result<etcd::Status>> status();

  // Watches every key under `prefix` from `start_revision`: each message of the stream goes to
  // `on_message` until the stream ends, fails, or cancel_watch() is called; returns why it
  // ended. `on_message` returning false ends it too.
  using WatchHandler = std::function<bool(etcd::WatchMessage const&)>;
  boost::asio::awaitable<core::Error> watch(std::string prefix, std::int64_t start_revision, WatchHandler on_message);
  void cancel_watch();

 private:
  struct Watch;
  boost::asio::awaitable<core::Result<std::string>> post(std::string path, std::string body);
  template <class T>
  boost::asio::awaitable<core::Result<T>> call(std::string path, std::string body,
                                               core::Result<T> (*parse)(std::string_view));
  boost::asio::any_io_executor executor_;
  std::vector<Endpoint> endpoints_;
  core::Millis timeout_;
  std::size_t preferred_ = 0;
  std::shared_ptr<Watch> watch_;
};

}  // namespace outboard::registry
