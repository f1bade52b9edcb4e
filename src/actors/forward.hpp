#pragma once
// A player that reached a server not owning its room is served through the owner: the upgrade
// is handed on to the owner's address (with X-Outboard-Forwarded, so the owner never sends it
// on again) and the bytes are relayed both ways until either side closes. The owner answers the
// 101 and speaks the WebSocket; this server sees only bytes.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "http/message.hpp"
#include "io/http_server.hpp"

namespace outboard::actors {

inline constexpr char kForwardedHeader[] = "X-Outboard-Forwarded";

// The relays open in a process, so a drain can cut them (their players reconnect elsewhere)
// instead of waiting for them. Any thread.
class Relays {
 public:
  std::uint64_t add(std::function<void()> cut);
  void remove(std::uint64_t id);
  void cut_all();  // and every relay added after it is cut at once

 private:
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::function<void()>> cuts_;
  std::uint64_t next_ = 0;
  bool cutting_ = false;
};

// Relays the taken connection to `address` ("host:port"). When the owner cannot be reached the
// player's connection is answered 503 owner_unavailable and closed.
boost::asio::awaitable<void> relay_to_owner(io::TakenConnection taken, http::Request request, std::string address,
                                            std::string instance, Relays& relays);

}  // namespace outboard::actors
