#pragma once
// A small TCP proxy the lab puts between two parts of its cluster (a gateway and etcd, a gateway
// and a server, ...) to inject network faults, after Toxiproxy's idea: latency, "loss",
// partitions and resets, switched on and off while the run goes on.
//
// Threading: everything (the accept loop, each connection's coroutines, every setter and
// stats()) runs on the one executor given to the constructor, which must be single-threaded
// (the lab's one io_context on its main thread). Nothing here takes a lock.
// Destroy the proxy before that io_context: its destructor closes sockets of that context.
// Coroutines still pending then keep the shared state alive and end at the loop's next turn.
//
// Each accepted connection is one link: a connection to the target, and per direction a reader
// (reads chunks of up to 16 KiB, stamps each with the time it may leave) and a writer (sends
// them in order once due, unless partitioned). A direction holds at most 256 KiB read but not
// yet sent; past that its reader stops reading, so a long partition pushes back on the sender
// through TCP instead of growing the proxy's memory.
#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace outboard::lab {

struct FaultProxyState;  // fault_proxy.cpp: shared with the proxy's coroutines, which may outlive it

struct FaultProxyStats {
  std::uint64_t connections = 0;     // accepted, the refused ones included
  std::uint64_t refused = 0;         // reset at once by the loss draw
  std::uint64_t dials = 0;           // connections to the target attempted (none while partitioned)
  std::uint64_t bytes_up = 0;        // read from clients (held or delivered)
  std::uint64_t bytes_down = 0;      // read from the target (held or delivered)
  std::uint64_t delivered_up = 0;    // written to the target
  std::uint64_t delivered_down = 0;  // written to clients
};

class FaultProxy {
 public:
  static constexpr std::uint32_t kDefaultSeed = 18;

  // Listens on 127.0.0.1:<free port> at once (port() is known before start()) and forwards each
  // connection to target_host:target_port, resolved per connection. Throws if it cannot listen
  // (set-up, not the data plane). `seed` feeds the loss draws, so a run repeats.
  FaultProxy(boost::asio::any_io_executor executor, std::string target_host, std::uint16_t target_port,
             std::uint32_t seed = kDefaultSeed);
  ~FaultProxy();  // stop(): closes the listener and every connection
  FaultProxy(FaultProxy const&) = delete;
  FaultProxy& operator=(FaultProxy const&) = delete;

  // Starts accepting. Once only; a stopped proxy does not start again.
  void start();
  std::uint16_t port() const;

  // Each chunk forwarded (either direction) waits this long after it was read before it is sent;
  // order is kept (a chunk never overtakes the one before it, even after the latency shrinks).
  // Applies to chunks read from now on. 0: off.
  void set_latency(std::chrono::milliseconds latency);

  // Each NEW connection is reset at once (RST) with this probability, 0..100 (clamped), drawn
  // from a std::mt19937 seeded in the constructor: one draw per accepted connection, partitioned
  // or not, so the sequence of outcomes repeats run after run.
  // Why a whole connection: TCP cannot lose bytes inside a stream without breaking it (the kernel
  // retransmits what a real network drops; a proxy that skipped bytes would corrupt the stream,
  // which no network does). What an L7 client sees of packet loss is a connection that fails, so
  // that is what this models. A refused connection never reaches the target.
  void set_loss_percent(int percent);

  // Partitioned: nothing is forwarded either way, on existing and new connections. New ones are
  // accepted and then left silent (the target is not even dialled, as a partition would drop the
  // SYN); bytes already read, and bytes read during the partition (up to the hold limit), are
  // held. Healing dials the targets of the waiting connections and sends what was held, in order.
  void set_partitioned(bool partitioned);

  // Closes every open connection, both sides: the client and the target see EOF (a reset instead
  // where bytes they had sent were still unread by the proxy, as the kernel does on close).
  void reset_all();

  FaultProxyStats stats() const;

  // Stops accepting and closes every connection. Safe to call twice.
  void stop();

 private:
  std::shared_ptr<FaultProxyState> state_;
};

}  // namespace outboard::lab
