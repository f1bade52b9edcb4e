#pragma once
// One access-log line per request, as JSON, with the field names of the gateway's access log
// where they mean the same (client, method, request_id, status, bytes, duration_ms, error), so
// one query reads both. Pure: the service fills an entry and writes the line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace outboard::runtime {

struct AccessEntry {
  std::int64_t time_ms = 0;      // when the answer was known, Unix epoch milliseconds
  std::string_view instance;
  std::string_view request_id;
  std::string_view client;       // runtime::client_address(): the peer, or who trusted proxies name
  std::string_view method;
  std::string_view path;         // without the query string (it may carry what logs must not)
  std::string_view route;        // the route's template ("/orders/{id}"); empty: no route took it
  unsigned status = 0;
  std::size_t bytes = 0;         // response body bytes
  double seconds = 0;
  std::string_view error;        // the strict-layer rule that refused the request, if one did
};

// {"time":"2026-11-29T03:13:44.123Z","instance":...,"route":"/orders/{id}" or null,...}
std::string access_log_line(AccessEntry const& entry);

// ISO-8601 in UTC with milliseconds: "2026-11-29T03:13:44.123Z".
std::string iso8601_utc(std::int64_t epoch_ms);

}  // namespace outboard::runtime
