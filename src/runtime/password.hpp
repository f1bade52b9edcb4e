#pragma once
// Password hashing with Argon2id (libsodium's crypto_pwhash_str), a memory-hard KDF. Hashing is
// deliberately slow, so it runs on the hasher's own threads, never on an event loop.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace outboard::runtime {

enum class KdfCost {
  min,          // libsodium's minimum: for tests and the lab's thousands of sign-ups only
  interactive,  // libsodium's INTERACTIVE limits (64 MiB): the default for real use
  moderate,     // MODERATE (256 MiB)
};

// "min", "interactive", "moderate"; nullopt otherwise.
std::optional<KdfCost> parse_kdf_cost(std::string_view text);

class PasswordHasher {
 public:
  PasswordHasher(KdfCost cost, int threads);
  ~PasswordHasher();

  // Resumes the caller on its own executor. The string is libsodium's self-describing encoding.
  boost::asio::awaitable<core::Result<std::string>> hash(std::string password);
  boost::asio::awaitable<bool> verify(std::string encoded, std::string password);

 private:
  KdfCost cost_;
  boost::asio::thread_pool pool_;
};

}  // namespace outboard::runtime
