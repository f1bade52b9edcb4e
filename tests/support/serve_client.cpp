#include "support/serve_client.hpp"

#include <utility>

#include "support/prometheus_text.hpp"

namespace outboard::testing {

ServeOptions serve_instance(std::string name, std::string state, std::vector<std::string> keys) {
  ServeOptions o;
  o.name = std::move(name);
  o.state = std::move(state);
  o.session_keys = std::move(keys);
  return o;
}

HeaderList bearer(std::string const& token) { return {{"Authorization", "Bearer " + token}}; }

HttpResponse me(HttpClient& client, std::uint16_t port, std::string const& token) {
  return client.request_to(port, "GET", "/me", {}, bearer(token));
}

double metric_sample(std::uint16_t port, std::string const& series) {
  HttpClient scraper(port);
  auto samples = prometheus_samples(scraper.get("/metrics").body);
  auto it = samples.find(series);
  return it == samples.end() ? -1 : it->second;
}

}  // namespace outboard::testing
