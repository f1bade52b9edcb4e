#pragma once
// The caps on client connections (HAProxy's global maxconn and a per-source limit): at most
// `max_total` open at once across every worker thread, and at most `max_per_client` from one
// client address. A connection beyond either is answered 503 with Retry-After and closed, never
// served. 0 turns a cap off. Shared by the worker threads: one mutex, taken once when a
// connection opens and once when it closes (the per-client map is touched only when that cap is
// on).
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace outboard::gateway {

class ConnectionLimits {
 public:
  enum class Verdict { admitted, over_total, over_per_client };

  ConnectionLimits(std::size_t max_total, std::size_t max_per_client)
      : max_total_(max_total), max_per_client_(max_per_client) {}

  // Counts the connection when admitted; an admitted one must be released exactly once.
  Verdict admit(std::string const& client);
  void release(std::string const& client);

  std::size_t open() const;

 private:
  std::size_t const max_total_;
  std::size_t const max_per_client_;
  mutable std::mutex mutex_;
  std::size_t open_ = 0;
  std::unordered_map<std::string, std::size_t> per_client_;
};

}  // namespace outboard::gateway
