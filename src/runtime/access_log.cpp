#include "runtime/access_log.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <ctime>

namespace outboard::runtime {

std::string iso8601_utc(std::int64_t epoch_ms) {
  // Floor division, so an instant before 1970 still gets milliseconds in 0..999.
  std::int64_t seconds = epoch_ms / 1000, millis = epoch_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

std::string access_log_line(AccessEntry const& e) {
  nlohmann::json line{{"time", iso8601_utc(e.time_ms)},
                      {"instance", e.instance},
                      {"request_id", e.request_id},
                      {"client", e.client},
                      {"method", e.method},
                      {"path", e.path},
                      {"route", e.route.empty() ? nlohmann::json() : nlohmann::json(e.route)},
                      {"status", e.status},
                      {"bytes", e.bytes},
                      {"duration_ms", e.seconds * 1000.0}};
  if (!e.error.empty()) line["error"] = e.error;
  // Bytes a client sent (its path, its id) may be invalid UTF-8: replaced, never a throw.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace outboard::runtime
