#pragma once
// Password hashing with Argon2id (libsodium's crypto_pwhash_str), a memory-hard KDF. Hashing is
// deliberately slow, so it runs on the hasher's own threads, never on an event loop.
//
// Two protections live here, because only the hasher sees every KDF call:
//   - equal work: verify() of an unknown user's password checks it against a dummy hash made at
//     start-up with the same cost, so a login for a name that does not exist takes the same KDF
//     time as one for a name that does (response time must not tell which accounts exist);
//   - a bounded queue: at most threads + queue calls are admitted at once; the next one gets
//     Errc::unavailable "kdf_busy" at once instead of waiting behind a backlog that only grows
//     (a flood of logins must cost the attacker a 503, not every user a timeout).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "http/message.hpp"

namespace outboard::runtime {

enum class KdfCost {
  min,          // libsodium's minimum: for tests and the lab's thousands of sign-ups only
  interactive,  // libsodium's INTERACTIVE limits (64 MiB): the default for real use
  moderate,     // MODERATE (256 MiB)
};

// "min", "interactive", "moderate"; nullopt otherwise.
std::optional<KdfCost> parse_kdf_cost(std::string_view text);

// What the hasher did, for /metrics. Read with relaxed loads: counters, not synchronisation.
struct KdfCounts {
  std::uint64_t hashes = 0;
  std::uint64_t verifications = 0;  // dummy verifications (unknown users) included
  std::uint64_t busy = 0;           // calls refused because the queue was full
};

class PasswordHasher {
 public:
  // threads: pool size; queue: calls that may wait beyond those running (0: none wait).
  // Blocks for one hash (the dummy): call at start-up.
  PasswordHasher(KdfCost cost, int threads, int queue);
  ~PasswordHasher();

  // Resumes the caller on its own executor. The string is libsodium's self-describing encoding.
  // Errc::unavailable ("kdf_busy") when the queue is full.
  boost::asio::awaitable<core::Result<std::string>> hash(std::string password);
  // True when `password` matches `encoded`. With no encoded hash (unknown user) the password is
  // checked against the dummy hash, the same work, and the answer is false.
  // Errc::unavailable ("kdf_busy") when the queue is full.
  boost::asio::awaitable<core::Result<bool>> verify(std::optional<std::string> encoded, std::string password);

  KdfCounts counts() const;

 private:
  // Admission to the bounded queue; released on the caller's thread after the work came back.
  bool admit();
  void release() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

  KdfCost cost_;
  int limit_;
  boost::asio::thread_pool pool_;
  std::string dummy_hash_;
  std::atomic<int> in_flight_{0};
  std::atomic<std::uint64_t> hashes_{0};
  std::atomic<std::uint64_t> verifications_{0};
  std::atomic<std::uint64_t> busy_{0};
};

// True for the hasher's "queue full" error.
bool is_kdf_busy(core::Error const& error);
// The answer for a hasher error: 503 kdf_busy with Retry-After when the queue is full, else 500.
http::Response kdf_error_response(core::Error const& error);

}  // namespace outboard::runtime
