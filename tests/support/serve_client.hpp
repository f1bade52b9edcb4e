#pragma once
// What many `outboard serve` integration tests need: the one password their users sign up with,
// the options of one instance among several, a bearer-token request, one /metrics sample, and a
// bounded wait for a counter.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/serve_process.hpp"

namespace outboard::testing {

// Long enough for every password rule `serve` enforces.
inline constexpr char kPassword[] = "correct-horse";

// The Authorization header of a request made with an access token.
HeaderList bearer(std::string const& token);

// One `serve` of several sharing `state` (a URL) and the session-cookie `keys`, named `name`.
ServeOptions serve_instance(std::string name, std::string state, std::vector<std::string> keys);

// GET /me on `port` with `token` as the bearer.
HttpResponse me(HttpClient& client, std::uint16_t port, std::string const& token);

// One series of `port`'s /metrics, as written ("name{label=\"v\"}"); -1 when it is missing.
double metric_sample(std::uint16_t port, std::string const& series);

// A bounded wait (10 s, polled every 2 ms) for an event a server's counters show; not a timing
// check: a fast run returns at once.
template <class Predicate>
bool wait_for(Predicate done) {
  return wait_until(done, std::chrono::seconds(10), std::chrono::milliseconds(2));
}

}  // namespace outboard::testing
