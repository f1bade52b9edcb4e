#pragma once
// What another client of a test's redis-server does: one command on a connection and event loop
// of its own (another process, an operator, a restart), and the server's own count of a command.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "state/redis/redis_connection.hpp"
#include "state/redis/resp.hpp"
#include "support/run_coro.hpp"

namespace outboard::state {

// Safe to call from inside a store's own callbacks: it runs on an io_context of its own.
inline Result<Reply> redis_elsewhere(std::uint16_t port, std::initializer_list<std::string_view> args) {
  boost::asio::io_context io;
  auto conn = RedisConnection::create(io.get_executor(),
                                      RedisEndpoint{"127.0.0.1", port, "", 0, std::chrono::milliseconds(2000)});
  auto reply = testing::run_coro(io, conn->execute(encode_command(args)));
  conn->close();
  return reply;
}

// How many times Redis ran `command` (INFO commandstats), whoever sent it; -1 when unreadable.
// The number after "<prefix>" in INFO <section> (-1 if INFO failed, 0 if the field is absent).
inline std::int64_t redis_info_number(std::uint16_t port, std::string_view section, std::string const& prefix) {
  auto info = redis_elsewhere(port, {"INFO", section});
  EXPECT_TRUE(info.has_value());
  if (!info) return -1;
  auto at = info->str.find(prefix);
  return at == std::string::npos ? 0 : std::stoll(info->str.substr(at + prefix.size()));
}

// How many times Redis ran `command` (INFO commandstats), whoever sent it; -1 when unreadable.
inline std::int64_t redis_calls(std::uint16_t port, std::string const& command) {
  return redis_info_number(port, "commandstats", "cmdstat_" + command + ":calls=");
}

}  // namespace outboard::state
