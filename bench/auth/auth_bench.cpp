// outboard_auth_bench: the costs bench/auth/run.sh reports (docs/BENCHMARKS.md, "Auth: token
// verification"). Each measurement prints one JSON line on stdout.
//
//   outboard_auth_bench prepare DIR      a key per algorithm (private files as operators keep
//                                        them), DIR/jwks.json, DIR/tokens.json {alg: token}: the
//                                        tokens both outboard and jose verify (valid for a day)
//   outboard_auth_bench jwt DIR SECONDS  per algorithm: CPU µs per JwtVerifier::verify of its
//                                        token and per sign_jwt of the same claims
//   outboard_auth_bench revocation REDIS_URL SECONDS
//                                        wall µs per Revocation::check of a never-revoked token
//                                        on redis, without and with the near-cache (the round
//                                        trips are the cost, so wall time)
// Each measurement runs a short warm-up, then whole batches until SECONDS have passed.
#include <time.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "auth/jwt_jwk.hpp"
#include "auth/jwt_key_files.hpp"
#include "auth/jwt_key_pem.hpp"
#include "auth/jwt_signer.hpp"
#include "auth/jwt_verifier.hpp"
#include "auth/revocation.hpp"
#include "core/secret_file.hpp"
#include "state/store.hpp"

namespace outboard::auth {
namespace {

using Clock = std::chrono::steady_clock;
constexpr JwsAlg kAlgs[] = {JwsAlg::eddsa, JwsAlg::es256, JwsAlg::rs256, JwsAlg::hs256};
constexpr char kIssuer[] = "https://outboard.bench";
constexpr char kAudience[] = "shop";
constexpr int kBatch = 64;
constexpr int kWarmup = 2 * kBatch;

[[noreturn]] void fail(std::string const& what) {
  std::cerr << "outboard_auth_bench: " << what << "\n";
  std::exit(1);
}

std::string kid_of(JwsAlg alg) { return std::string(to_string(alg)) + "-bench"; }
std::filesystem::path key_path(std::filesystem::path const& dir, JwsAlg alg) { return dir / (kid_of(alg) + ".key"); }

nlohmann::json read_json(std::filesystem::path const& path) {
  std::ifstream in(path);
  if (!in) fail("cannot read " + path.string());
  return nlohmann::json::parse(in);
}

// The process's CPU time (user + system) in µs.
double process_cpu_micros() {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e6 + static_cast<double>(now.tv_nsec) / 1e3;
}

// CPU µs per call of `op` (which returns false on a wrong result): warm-up, then batches until
// `seconds` of wall time have passed. CPU time, not wall time: signing and verifying are pure
// computation, and on a shared machine the wall time mostly measures the others' load.
template <class Op>
double cpu_micros_per_op(double seconds, Op op) {
  for (int i = 0; i < kWarmup; ++i) {
    if (!op()) fail("an operation failed during warm-up");
  }
  double const cpu_start = process_cpu_micros();
  auto const until = Clock::now() + std::chrono::duration<double>(seconds);
  long ops = 0;
  do {
    for (int i = 0; i < kBatch; ++i) {
      if (!op()) fail("an operation failed");
    }
    ops += kBatch;
  } while (Clock::now() < until);
  return (process_cpu_micros() - cpu_start) / static_cast<double>(ops);
}

nlohmann::json bench_claims() {
  auto const now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return {{"iss", kIssuer}, {"aud", kAudience}, {"sub", "bench-user"}, {"iat", now},
          {"nbf", now},     {"exp", now + 86'400}, {"jti", "bench-1"}};
}

int prepare(std::filesystem::path const& dir) {
  std::vector<JwtKey> keys;
  nlohmann::json tokens = nlohmann::json::object();
  for (auto alg : kAlgs) {
    auto key = generate_key(alg, kid_of(alg));
    if (!key) fail("generating a " + std::string(to_string(alg)) + " key: " + key.error().describe());
    if (!core::create_secret_file(key_path(dir, alg), *private_key_text(*key))) fail("writing a key file in " + dir.string());
    auto token = sign_jwt(*key, bench_claims());
    if (!token) fail("signing: " + token.error().describe());
    tokens[std::string(to_string(alg))] = *token;
    keys.push_back(std::move(*key));
  }
  KeySet const set(keys.front(), std::vector<JwtKey>(keys.begin() + 1, keys.end()));
  std::ofstream(dir / "jwks.json") << jwks_json(set).dump();
  std::ofstream(dir / "tokens.json") << nlohmann::json{{"iss", kIssuer}, {"aud", kAudience}, {"tokens", tokens}}.dump();
  return 0;
}

int bench_jwt(std::filesystem::path const& dir, double seconds) {
  std::vector<KeyFile> files;
  for (auto alg : kAlgs) files.push_back({kid_of(alg), alg, key_path(dir, alg)});
  auto keys = std::make_shared<KeySet const>(load_key_set(files.front(), {files.begin() + 1, files.end()}));
  core::SystemClock clock;
  JwtVerifier const verifier(keys, ClaimsPolicy{kIssuer, kAudience}, clock);
  auto const plan = read_json(dir / "tokens.json");
  auto const claims = bench_claims();
  for (auto const& key : keys->keys()) {
    std::string const alg(to_string(key.alg()));
    auto const token = plan.at("tokens").at(alg).get<std::string>();
    double const verify_us = cpu_micros_per_op(seconds, [&] { return verifier.verify(token).has_value(); });
    double const sign_us = cpu_micros_per_op(seconds, [&] { return sign_jwt(key, claims).has_value(); });
    std::cout << nlohmann::json{{"impl", "outboard"}, {"alg", alg}, {"verify_us", verify_us}, {"sign_us", sign_us}}.dump()
              << std::endl;
  }
  return 0;
}

// Checks of one never-revoked token, the usual case, run as one coroutine on the store's loop.
boost::asio::awaitable<double> revocation_checks(state::Store& store, double seconds) {
  core::SystemClock clock;
  RevocationPolicy const policy;
  Revocation revocation(store, clock, policy);
  AccessClaims const claims{"bench-user", "bench-jti", clock.now_ms(), clock.now_ms() + policy.access_lifetime.count(), ""};
  for (int i = 0; i < kWarmup; ++i) {
    auto verdict = co_await revocation.check(claims);
    if (!verdict || *verdict != AccessVerdict::valid) fail("a revocation check failed during warm-up");
  }
  auto const start = Clock::now();
  auto const until = start + std::chrono::duration<double>(seconds);
  long checks = 0;
  do {
    auto verdict = co_await revocation.check(claims);
    if (!verdict || *verdict != AccessVerdict::valid) fail("a revocation check failed");
    ++checks;
  } while (Clock::now() < until);
  co_return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / static_cast<double>(checks);
}

// Up to 10 s for the near-cache's invalidation connection: until it is subscribed, reads bypass it.
void wait_until_linked(state::StoreProvider const& provider) {
  for (int i = 0; i < 1000; ++i) {
    if (provider.near_cache_stats()->linked) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  fail("the near-cache did not link to redis in 10 s");
}

nlohmann::json bench_revocation_on(std::string const& url, std::size_t near_cache_keys, double seconds) {
  core::SystemClock clock;
  state::StoreOptions options;
  options.clock = &clock;
  options.near_cache_keys = near_cache_keys;
  auto provider = state::open_store(url, options);
  if (near_cache_keys > 0) wait_until_linked(*provider);
  boost::asio::io_context io;
  auto store = provider->store_for(io.get_executor());
  auto result = boost::asio::co_spawn(io, revocation_checks(*store, seconds), boost::asio::use_future);
  // Handler by handler, not io.run(): the redis reader coroutine keeps the loop busy.
  while (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (io.run_one_for(std::chrono::milliseconds(50)) == 0) io.restart();
  }
  nlohmann::json measured{{"check_us", result.get()}};
  if (auto stats = provider->near_cache_stats()) {
    measured["hit_ratio"] = static_cast<double>(stats->hits) / static_cast<double>(std::max<std::uint64_t>(1, stats->hits + stats->misses));
  }
  store.reset();
  return measured;
}

int bench_revocation(std::string const& url, double seconds) {
  for (auto [name, keys] : {std::pair{"redis", std::size_t{0}}, std::pair{"redis+near-cache", std::size_t{10'000}}}) {
    auto measured = bench_revocation_on(url, keys, seconds);
    measured["revocation"] = name;
    std::cout << measured.dump() << std::endl;
  }
  return 0;
}

double parse_seconds(char const* text) {
  char* end = nullptr;
  double const seconds = std::strtod(text, &end);
  if (*end != '\0' || !(seconds > 0 && seconds <= 60)) fail("SECONDS must be a number in (0, 60]");
  return seconds;
}

}  // namespace
}  // namespace outboard::auth

int main(int argc, char** argv) {
  using namespace outboard::auth;
  std::string const mode = argc > 1 ? argv[1] : "";
  if (mode == "prepare" && argc == 3) return prepare(argv[2]);
  if (mode == "jwt" && argc == 4) return bench_jwt(argv[2], parse_seconds(argv[3]));
  if (mode == "revocation" && argc == 4) return bench_revocation(argv[2], parse_seconds(argv[3]));
  std::cerr << "usage: outboard_auth_bench prepare DIR | jwt DIR SECONDS | revocation REDIS_URL SECONDS\n";
  return 2;
}
