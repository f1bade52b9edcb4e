#include "runtime/password.hpp"

#include "core/offload.hpp"
#include <sodium.h>

#include <stdexcept>

namespace outboard::runtime {
namespace asio = boost::asio;

std::optional<KdfCost> parse_kdf_cost(std::string_view text) {
  if (text == "min") return KdfCost::min;
  if (text == "interactive") return KdfCost::interactive;
  if (text == "moderate") return KdfCost::moderate;
  return std::nullopt;
}

PasswordHasher::PasswordHasher(KdfCost cost, int threads) : cost_(cost), pool_(threads) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

PasswordHasher::~PasswordHasher() { pool_.join(); }

asio::awaitable<core::Result<std::string>> PasswordHasher::hash(std::string password) {
  KdfCost cost = cost_;
  auto work = [cost, password = std::move(password)]() -> core::Result<std::string> {
    unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    std::size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    if (cost == KdfCost::min) {
      ops = crypto_pwhash_OPSLIMIT_MIN;
      mem = crypto_pwhash_MEMLIMIT_MIN;
    } else if (cost == KdfCost::moderate) {
      ops = crypto_pwhash_OPSLIMIT_MODERATE;
      mem = crypto_pwhash_MEMLIMIT_MODERATE;
    }
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
      return core::make_error(core::Errc::internal, "password hashing ran out of memory");
    }
    return std::string(out);
  };
  co_return co_await core::offload(pool_, std::move(work));  // named lambda: see offload.hpp
}

asio::awaitable<bool> PasswordHasher::verify(std::string encoded, std::string password) {
  auto work = [encoded = std::move(encoded), password = std::move(password)] {
    return crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size()) == 0;
  };
  co_return co_await core::offload(pool_, std::move(work));
}

}  // namespace outboard::runtime
