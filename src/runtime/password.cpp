#include "runtime/password.hpp"

#include "core/offload.hpp"
#include "core/random.hpp"
#include <sodium.h>

#include <stdexcept>

namespace outboard::runtime {
namespace asio = boost::asio;
namespace {

constexpr char kBusy[] = "kdf_busy";

// libsodium's limits for a cost.
struct KdfLimits {
  unsigned long long ops;
  std::size_t mem;
};

KdfLimits limits_for(KdfCost cost) {
  switch (cost) {
    case KdfCost::min: return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
    case KdfCost::moderate: return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
    case KdfCost::interactive: break;
  }
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

core::Result<std::string> hash_now(KdfCost cost, std::string const& password) {
  KdfLimits limits = limits_for(cost);
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), limits.ops, limits.mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return core::make_error(core::Errc::internal, "password hashing ran out of memory");
  }
  return std::string(out);
}

}  // namespace

std::optional<KdfCost> parse_kdf_cost(std::string_view text) {
  if (text == "min") return KdfCost::min;
  if (text == "interactive") return KdfCost::interactive;
  if (text == "moderate") return KdfCost::moderate;
  return std::nullopt;
}

PasswordHasher::PasswordHasher(KdfCost cost, int threads, int queue)
    : cost_(cost), limit_(threads + queue), pool_(threads) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  // Same cost as real hashes, of a password nobody knows: verifying against it is the same work.
  auto dummy = hash_now(cost, core::hex_encode(core::random_bytes(16)));
  if (!dummy) throw std::runtime_error("cannot make the dummy password hash: " + dummy.error().describe());
  dummy_hash_ = *dummy;
}

PasswordHasher::~PasswordHasher() { pool_.join(); }

bool PasswordHasher::admit() {
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) < limit_) return true;
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  busy_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

asio::awaitable<core::Result<std::string>> PasswordHasher::hash(std::string password) {
  if (!admit()) co_return core::make_error(core::Errc::unavailable, kBusy);
  hashes_.fetch_add(1, std::memory_order_relaxed);
  auto work = [cost = cost_, password = std::move(password)] { return hash_now(cost, password); };
  auto hashed = co_await core::offload(pool_, std::move(work));  // named lambda: see offload.hpp
  release();
  co_return hashed;
}

asio::awaitable<core::Result<bool>> PasswordHasher::verify(std::optional<std::string> encoded, std::string password) {
  if (!admit()) co_return core::make_error(core::Errc::unavailable, kBusy);
  verifications_.fetch_add(1, std::memory_order_relaxed);
  bool known = encoded.has_value();
  auto work = [encoded = known ? std::move(*encoded) : dummy_hash_, password = std::move(password)] {
    return crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size()) == 0;
  };
  bool matched = co_await core::offload(pool_, std::move(work));
  release();
  co_return known && matched;
}

KdfCounts PasswordHasher::counts() const {
  return {hashes_.load(std::memory_order_relaxed), verifications_.load(std::memory_order_relaxed),
          busy_.load(std::memory_order_relaxed)};
}

bool is_kdf_busy(core::Error const& error) {
  return error.code == core::Errc::unavailable && error.context == kBusy;
}

http::Response kdf_error_response(core::Error const& error) {
  if (!is_kdf_busy(error)) return http::json_error(http::Status::internal_server_error, "internal", error.context);
  auto res = http::json_error(http::Status::service_unavailable, "kdf_busy",
                              "too many password checks are waiting on this instance; retry shortly");
  res.set(http::bhttp::field::retry_after, "1");
  return res;
}

}  // namespace outboard::runtime
