#pragma once
// serve's `[realtime]` settings (docs/REALTIME.md): declared on the command's Settings, turned
// into the runtime's RealtimeConfig. Apart from serve_command.cpp to keep that file about serve.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "realtime/config.hpp"

namespace outboard::app {

struct RealtimeSettings {
  bool enabled = true;
  std::string url;  // empty: the data store's
  bool resume = true;
  std::int64_t history = 1000;
  std::int64_t history_ttl_s = 24 * 60 * 60;
  std::int64_t dedupe_ttl_s = 10 * 60;
  std::int64_t poll_interval_ms = 20;
  std::int64_t max_message_bytes = 8192;
  std::int64_t max_text_bytes = 4096;
  std::int64_t messages_per_second = 20;
  std::int64_t max_rooms = 32;
  std::int64_t outbound_queue = 256;
  std::int64_t idle_timeout_ms = 60'000;
  std::int64_t close_grace_ms = 2000;
  std::int64_t presence_ttl_ms = 15'000;
  std::vector<std::string> allowed_origins;
};

void declare_realtime(core::Settings& settings, RealtimeSettings& values);
// nullopt when realtime.enabled is false. Throws core::ConfigError for values that do not fit together.
std::optional<realtime::RealtimeConfig> to_realtime_config(RealtimeSettings const& values);

}  // namespace outboard::app
