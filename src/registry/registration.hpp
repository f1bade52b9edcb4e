#pragma once
// A server's own entry in the shared truth (docs/TRUTH.md), on its own thread and event loop:
// a lease of `ttl` seconds, the entry put under it, and a keep-alive every third of the TTL.
// When the lease is lost (etcd restarted without it, or the server was cut off longer than the
// TTL) a new one is granted and the entry put again. The server's death stops the keep-alives,
// so etcd removes the entry by itself after at most the TTL.
//   drain(): the entry says "draining" (gateways send no new requests), and
//   stop():  the lease is revoked, which removes the entry at once (bounded by the timeout).
#include <atomic>
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

struct RegistrationOptions {
  std::vector<Endpoint> endpoints;
  std::string prefix = "/outboard/members/";
  Member self;
  std::int64_t ttl_s = 10;
  core::Millis timeout{1000};
};

class Registration {
 public:
  Registration(RegistrationOptions options, core::Clock const& clock);
  ~Registration();
  Registration(Registration const&) = delete;
  Registration& operator=(Registration const&) = delete;

  void start();
  void drain();  // from any thread
  void stop();   // from any thread: revoke (bounded), then the thread ends

  bool registered() const { return registered_.load(std::memory_order_relaxed); }
  std::string key() const { return options_.prefix + options_.self.address(); }

  struct Loop;

 private:
  RegistrationOptions options_;
  core::Clock const& clock_;
  std::atomic<bool> registered_{false};
  std::unique_ptr<boost::asio::io_context> io_;
  std::shared_ptr<Loop> loop_;
  std::thread thread_;
};

}  // namespace outboard::registry
