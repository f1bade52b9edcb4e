// `outboard serve --access-log`: one JSON line per request on stdout, with the request's method,
// path (without the query), route template, client address, ISO-8601 UTC time, status and
// request id: the id the client sent, or the one the server generated and returned in
// X-Request-Id. Read from the process's log file.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"

namespace outboard::testing {
namespace {

// The access-log lines of `log`: every line that parses as a JSON object with a request_id.
std::vector<nlohmann::json> access_lines(std::string const& log) {
  std::vector<nlohmann::json> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("request_id")) out.push_back(std::move(j));
  }
  return out;
}

// The access-log lines per request id, once every id in `ids` has at least one (bounded wait: the
// line is written after the response went out).
std::map<std::string, std::vector<nlohmann::json>> lines_for(ServeProcess const& serve,
                                                             std::vector<std::string> const& ids) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    std::map<std::string, std::vector<nlohmann::json>> by_id;
    for (auto& j : access_lines(serve.log())) by_id[j.value("request_id", "")].push_back(j);
    bool all = true;
    for (auto const& id : ids) all = all && by_id.count(id) > 0;
    if (all || std::chrono::steady_clock::now() >= deadline) return by_id;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

struct Sent {
  std::string id;  // as echoed in X-Request-Id
  std::string method;
  std::string path;
  int status;
  nlohmann::json route;  // the template, or null when no route took the request
};

bool is_iso8601_utc_millis(std::string const& text) {
  static const std::regex format(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  return std::regex_match(text, format);
}

TEST(ShopAccessLog, OneJsonLinePerRequestWithMethodPathStatusAndRequestId) {
  ServeOptions options;
  options.name = "alog";
  // The flag takes a value ("true"); the bare flag is tested on its own below.
  options.extra_args = {"--access-log", "true"};
  ServeProcess serve(options);
  HttpClient c(serve.port());

  std::vector<Sent> sent;
  auto send = [&](std::string method, std::string target, std::string path, std::string body, HeaderList headers,
                  std::string const& id, nlohmann::json route) {
    if (!id.empty()) headers.emplace_back("X-Request-Id", id);
    auto res = c.request(method, target, body, headers);
    auto echoed = res.header("X-Request-Id").value_or("");
    if (!id.empty()) {
      EXPECT_EQ(echoed, id);
    }
    EXPECT_FALSE(echoed.empty()) << method << " " << target;
    sent.push_back({echoed, method, path, res.status, route});
    return res;
  };

  nlohmann::json none;  // null: no route took it
  send("GET", "/healthz", "/healthz", "", {}, "alog-health", none);
  EXPECT_EQ(send("POST", "/signup", "/signup", credentials_json("ada", kPassword), {}, "alog-signup", "/signup").status,
            201);
  EXPECT_EQ(send("POST", "/login", "/login", credentials_json("ada", kPassword), {}, "alog-login", "/login").status, 200);
  EXPECT_EQ(send("POST", "/cart/items", "/cart/items", R"({"sku":"sku-001","qty":1})", {{"Idempotency-Key", "k1"}},
                 "alog-add", "/cart/items")
                .status,
            201);
  EXPECT_EQ(send("POST", "/cart/items", "/cart/items", R"({"sku":"sku-001","qty":0})", {{"Idempotency-Key", "k2"}},
                 "alog-add-bad", "/cart/items")
                .status,
            400);
  EXPECT_EQ(send("GET", "/cart?view=full&x=1", "/cart", "", {}, "alog-cart", "/cart").status, 200);
  EXPECT_EQ(send("GET", "/nowhere", "/nowhere", "", {}, "alog-404", none).status, 404);
  // The template, not the path: one route, whatever the id.
  EXPECT_EQ(send("GET", "/orders/no-such-order", "/orders/no-such-order", "", {}, "alog-order", "/orders/{id}").status,
            404);
  // Without an id of its own: the generated one is logged.
  EXPECT_EQ(send("GET", "/orders", "/orders", "", {}, "", "/orders").status, 200);
  EXPECT_EQ(send("GET", "/recommendations", "/recommendations", "", {}, "", "/recommendations").status, 200);

  std::vector<std::string> ids;
  for (auto const& s : sent) ids.push_back(s.id);
  auto by_id = lines_for(serve, ids);
  for (auto const& s : sent) {
    SCOPED_TRACE(s.method + " " + s.path + " (request id " + s.id + ")");
    ASSERT_EQ(by_id.count(s.id), 1u) << "no access-log line for this request; log:\n" << serve.log();
    ASSERT_EQ(by_id[s.id].size(), 1u) << "one line per request";
    auto const& line = by_id[s.id][0];
    EXPECT_EQ(line.value("method", ""), s.method) << line;
    EXPECT_EQ(line.value("path", ""), s.path) << line;
    EXPECT_EQ(line.value("status", 0), s.status) << line;
    EXPECT_EQ(line.value("instance", ""), serve.instance()) << line;
    EXPECT_EQ(line["route"], s.route) << line;
    // The test connects from loopback, with no X-Forwarded-For.
    EXPECT_EQ(line.value("client", ""), "127.0.0.1") << line;
    EXPECT_TRUE(is_iso8601_utc_millis(line.value("time", ""))) << line;
  }
  // Every access line, the start-up health checks included, has the four fields.
  for (auto const& line : access_lines(serve.log())) {
    EXPECT_TRUE(line.contains("method") && line["method"].is_string()) << line;
    EXPECT_TRUE(line.contains("path") && line["path"].is_string()) << line;
    EXPECT_TRUE(line.contains("status") && line["status"].is_number_integer()) << line;
    EXPECT_TRUE(line["request_id"].is_string() && !line["request_id"].get<std::string>().empty()) << line;
  }
}

TEST(ShopAccessLog, EnabledFromTheEnvironmentToo) {
  ServeOptions options;
  options.name = "alogenv";
  options.env = {{"OUTBOARD_SERVE_LOG_ACCESS", "true"}};
  ServeProcess serve(options);
  HttpClient c(serve.port());
  auto res = c.request("GET", "/me", {}, {{"X-Request-Id", "alog-env-me"}});
  EXPECT_EQ(res.status, 401);
  auto by_id = lines_for(serve, {"alog-env-me"});
  ASSERT_EQ(by_id.count("alog-env-me"), 1u) << serve.log();
  auto const& line = by_id["alog-env-me"].at(0);
  EXPECT_EQ(line.value("method", ""), "GET");
  EXPECT_EQ(line.value("path", ""), "/me");
  EXPECT_EQ(line.value("status", 0), 401);
}

// `--access-log` is documented (README, --help) as a switch: given alone it must turn the log on,
// not stop the process with "1 required BOOL missing".
TEST(ShopAccessLog, BareFlagTurnsItOn) {
  ServeOptions options;
  options.name = "alogbare";
  options.extra_args = {"--access-log"};
  std::unique_ptr<ServeProcess> serve;
  try {
    serve = std::make_unique<ServeProcess>(options);
  } catch (std::exception const& e) {
    FAIL() << "outboard serve --access-log did not start: " << e.what();
  }
  HttpClient c(serve->port());
  EXPECT_EQ(c.request("GET", "/healthz", {}, {{"X-Request-Id", "alog-bare"}}).status, 200);
  EXPECT_EQ(lines_for(*serve, {"alog-bare"}).count("alog-bare"), 1u) << serve->log();
}

TEST(ShopAccessLog, NothingIsLoggedWithoutTheFlag) {
  ServeOptions options;
  options.name = "nolog";
  ServeProcess serve(options);
  HttpClient c(serve.port());
  EXPECT_EQ(c.request("GET", "/healthz", {}, {{"X-Request-Id", "silent-1"}}).status, 200);
  EXPECT_EQ(c.request("GET", "/cart", {}, {{"X-Request-Id", "silent-2"}}).status, 401);
  // A request made after those two, so their lines (if any) would be written by now.
  auto barrier = c.request("GET", "/healthz", {}, {{"X-Request-Id", "silent-3"}});
  EXPECT_EQ(barrier.status, 200);
  EXPECT_TRUE(access_lines(serve.log()).empty()) << serve.log();
}

// A request refused by the HTTP layer before any handler runs (a declared body over
// --max-body-bytes) is still a request: it gets its line too.
TEST(ShopAccessLog, RequestRefusedBeforeTheHandlerIsLoggedToo) {
  ServeOptions options;
  options.name = "alog413";
  options.extra_args = {"--access-log", "true", "--max-body-bytes", "1024"};
  ServeProcess serve(options);
  HttpClient c(serve.port());
  auto res = c.request("POST", "/signup", std::string(2048, 'x'), {{"X-Request-Id", "alog-too-big"}});
  expect_json_error(res, 413);
  EXPECT_EQ(res.header("X-Served-By"), serve.instance());
  auto by_id = lines_for(serve, {"alog-too-big"});
  ASSERT_EQ(by_id.count("alog-too-big"), 1u) << "no access-log line for the 413; log:\n" << serve.log();
  EXPECT_EQ(by_id["alog-too-big"].at(0).value("status", 0), 413);

  // A request the strict HTTP layer refuses: its line names the rule (docs/HTTP.md). Nothing of
  // a refused head is parsed, so the line carries the id the server made (the one it answered).
  auto folded = c.request("GET", "/me", {}, {{"X-Fold", "a\r\n b"}});
  EXPECT_EQ(folded.status, 400);
  auto id = folded.header("X-Request-Id").value_or("");
  ASSERT_FALSE(id.empty());
  by_id = lines_for(serve, {id});
  ASSERT_EQ(by_id.count(id), 1u) << "no access-log line for the refusal; log:\n" << serve.log();
  EXPECT_EQ(by_id[id].at(0).value("error", ""), "obs-fold");
  EXPECT_EQ(by_id[id].at(0).value("client", ""), "127.0.0.1");
  EXPECT_EQ(by_id[id].at(0).value("status", 0), 400);
}

}  // namespace
}  // namespace outboard::testing
