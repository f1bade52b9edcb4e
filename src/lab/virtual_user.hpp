#pragma once
// One virtual user: a browser walking the shop's journey through the gateway, keeping a ledger
// of what it did and what it was told, and checking every later answer against it.
//
// The journey: sign up (once), log in, /me, add 1-3 cart lines (each with an Idempotency-Key),
// upload a blob and read it back, /cart, checkout (Idempotency-Key), /orders, recommendations,
// log out, then the old session cookie sent again must be refused; a think time between steps. Network errors, 502/503/504 and "request in progress"
// are retried with backoff, with the same Idempotency-Key. A 401 while holding a session is an
// unexpected logout: it is counted, and the user logs in again and carries on (a person would).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "lab/run_stats.hpp"
#include "lab/token_wallet.hpp"
#include "lab/user_agent.hpp"

namespace outboard::lab {

struct UserSettings {
  std::uint16_t gateway_port = 0;
  // `lab --gateways N`: every gateway's port; user i starts on gateway i % N and moves to the next
  // one up when its own refuses connections (user_agent.hpp). Empty: gateway_port alone.
  std::vector<std::uint16_t> gateway_ports;
  std::string name_prefix;  // unique per run, so users of two runs never collide in a shared store
  std::chrono::milliseconds think_min{100};
  std::chrono::milliseconds think_max{500};
  std::chrono::milliseconds request_timeout{5000};
  int max_attempts = 8;       // per request, first try included
  // ... and retried for at least this long: the backoff's jitter can bring 8 attempts down to
  // 2.3 s, shorter than a Redis Cluster failover on a busy machine (node timeout 1 s, then an
  // election): a request that waited that out is availability, not a failed retryable request.
  std::chrono::milliseconds retry_window{6000};
  int relogins_per_step = 2;  // unexpected logouts tolerated in one step before the journey is abandoned
  // How long after an acknowledged logout a server may still accept the old credential: 0 when
  // every server reads sessions from the store itself; with a near-cache, its documented bound
  // for an invalidation it could not see (docs/STATE.md).
  std::chrono::milliseconds revocation_bound{0};
  // Log in for tokens (the jwt design): every request carries `Authorization: Bearer`, refreshed
  // before it expires and on a 401, instead of a session cookie.
  bool tokens = false;
};

// Set by the runner when the run's time is up: users finish the request in hand and stop.
struct StopFlag {
  bool stopping = false;
  // After the settle phase: chat users, who stopped sending at `stopping` but kept their
  // connections so that messages still on their way could arrive, close them and go.
  bool chat_closing = false;
};

class VirtualUser {
 public:
  VirtualUser(boost::asio::any_io_executor executor, int index, UserSettings const& settings, RunStats& stats,
              StopFlag const& stop, std::uint64_t seed);

  // Journeys, one after another, until the stop flag is raised (closed loop).
  boost::asio::awaitable<void> run_journeys();
  // One journey, then done (open loop: a new user arrives for each).
  boost::asio::awaitable<void> run_one_journey();
  // After the run: log in once more and check the cart and the orders against the ledger.
  // Logouts met here are not counted: the faults are over, this only reads what survived.
  boost::asio::awaitable<void> audit();

  bool has_ledger() const { return signed_up_; }

  // The orders this user placed (confirmed 2xx, or found in GET /orders after an answer was lost).
  std::vector<std::string> placed_orders() const;
  // After the run (the jobs workload's receipt ledger): GET /orders/{id} as this user, logging in
  // again if needed (logouts here are not counted: the faults are over); the answer's JSON, or
  // nullopt when no 200 came.
  boost::asio::awaitable<std::optional<nlohmann::json>> read_order(std::string id);
  // Ends the user's connection (after the last read of the run).
  void close_connection() { agent_.close(); }

  // For the chat journey (chat_user.hpp's ChatLogin): signs up and logs in as needed (refreshing
  // a token that is about to expire) and returns the credential headers a WebSocket upgrade
  // carries (Cookie, or Authorization in the jwt design). `refused`: the last upgrade was
  // answered 401, which on a live login is an unexpected logout, counted as any other.
  boost::asio::awaitable<std::optional<std::vector<std::pair<std::string, std::string>>>> chat_login(bool refused);

 private:
  enum class Step { ok, abandon };
  struct Outcome {
    Reply reply;
    int attempts = 0;
    bool gave_up = false;  // retriable every time, and out of attempts
  };

  boost::asio::awaitable<Step> journey();
  boost::asio::awaitable<Outcome> request(Call call);
  // request(), plus: a 401 on a live session is an unexpected logout; log in again, send again.
  boost::asio::awaitable<Outcome> as_user(Call call);
  boost::asio::awaitable<Step> sign_up();
  boost::asio::awaitable<Step> log_in();
  boost::asio::awaitable<Step> check_me();
  boost::asio::awaitable<Step> add_cart_line();
  boost::asio::awaitable<Step> upload_and_read_back();
  boost::asio::awaitable<Step> check_cart();
  boost::asio::awaitable<Step> check_out();
  boost::asio::awaitable<Step> check_orders();
  boost::asio::awaitable<Step> recommendations();
  boost::asio::awaitable<Step> log_out();
  // After a logout: the old credential, sent again as someone holding a copy would, must be refused.
  // `logged_out_by` is the server that answered the logout (X-Served-By).
  boost::asio::awaitable<void> check_revoked(Call const& replay, std::string logged_out_by);
  // POST /token/refresh with the wallet's refresh token: Step::ok with a new pair in the wallet.
  // A refusal ends the login (the user logs in again) and is counted: this user never reused a
  // token past the grace window, so its family had no reason to be revoked.
  boost::asio::awaitable<Step> refresh_tokens();
  // The credential headers of a logged-in request in this design: the bearer token, or none
  // (cookies are the agent's).
  void authorize(Call& call) const;
  void forget_login();
  boost::asio::awaitable<void> think();
  boost::asio::awaitable<void> pause(std::chrono::milliseconds how_long);

  Call json_post(std::string target, std::string body) const;
  std::string next_key();
  std::int64_t random_between(std::int64_t lo, std::int64_t hi);

  boost::asio::any_io_executor executor_;
  int index_;
  UserSettings const& settings_;
  RunStats& stats_;
  StopFlag const& stop_;
  UserAgent agent_;
  std::int64_t moves_counted_ = 0;  // agent_.moves() already recorded in stats_
  std::mt19937_64 rng_;
  std::string name_;
  std::string password_;
  std::int64_t keys_issued_ = 0;
  bool signed_up_ = false;
  bool logged_in_ = false;
  bool auditing_ = false;
  TokenWallet wallet_;

  // The ledger.
  std::set<std::string> cart_lines_;             // added (2xx), not yet checked out
  std::set<std::string> maybe_cart_lines_;       // outcome unknown: may or may not be there
  std::map<std::string, std::set<std::string>> orders_;  // confirmed order id -> its line ids
  int maybe_orders_ = 0;                          // checkouts whose outcome is unknown
  std::set<std::string> reported_missing_orders_;
};

std::int64_t lab_now_ms();

}  // namespace outboard::lab
