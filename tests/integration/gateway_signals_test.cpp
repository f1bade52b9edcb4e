// Signals to `outboard gateway`: SIGHUP reloads the backends from the config file without
// touching open connections, keeps what the admin API added and logs what it changed; SIGTERM stops accepting, lets requests in flight finish, exits 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

using namespace std::chrono_literals;

std::string pool_toml(std::initializer_list<TestBackend const*> backends) {
  std::string list;
  for (auto const* b : backends) list += std::string(list.empty() ? "" : ", ") + "\"" + b->address() + "\"";
  return "[pool]\nbackends = [" + list + "]\n";
}

std::set<std::string> listed_ids(GatewayProcess const& gateway) {
  std::set<std::string> out;
  for (auto const& b : gateway.backends()) out.insert(b.value("id", ""));
  return out;
}

TEST(GatewaySignals, SighupReloadsBackendsAndKeepsOpenConnections) {
  TestBackend a("a"), b("b"), c("c");
  GatewayOptions o;
  o.config = pool_toml({&a, &b});
  GatewayProcess gateway(o);
  ASSERT_EQ(listed_ids(gateway), (std::set<std::string>{a.address(), b.address()}));

  KeepAliveClient kept(gateway.port());
  for (int i = 0; i < 4; ++i) ASSERT_EQ(kept.get("/").status, 200);
  ASSERT_EQ(kept.connections_opened(), 1);
  std::uint64_t b_before = b.count();

  gateway.rewrite_config(pool_toml({&a, &c}));
  gateway.signal(SIGHUP);
  std::set<std::string> now;
  ASSERT_TRUE(wait_until([&] {
    now = listed_ids(gateway);
    return now == std::set<std::string>{a.address(), c.address()};
  }, 10s)) << "the backends did not change after SIGHUP; log:\n" << gateway.log();

  std::map<std::string, int> served;
  for (int i = 0; i < 20; ++i) {
    auto res = kept.get("/");
    ASSERT_EQ(res.status, 200) << "request " << i << " on the connection opened before the reload: " << res.body;
    ++served[res.header("X-Served-By").value_or("(none)")];
  }
  EXPECT_EQ(kept.connections_opened(), 1) << "the connection opened before the reload did not survive it";
  EXPECT_EQ(served[a.name()], 10);
  EXPECT_EQ(served[c.name()], 10);
  EXPECT_EQ(b.count(), b_before) << "a backend dropped by the reload still received requests";

  // A broken file is refused: the running backends stay.
  gateway.rewrite_config("[pool]\nbackends = [\"not an address\"]\n");
  gateway.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return gateway.log().find("reload refused") != std::string::npos; }, 10s))
      << "no 'reload refused' in the log";
  EXPECT_EQ(listed_ids(gateway), (std::set<std::string>{a.address(), c.address()}));
  EXPECT_EQ(kept.get("/").status, 200);
  EXPECT_TRUE(gateway.running());
}

// The reload rule (docs/GATEWAY.md, gateway/reload.hpp): the file's changes apply, the admin
// API's survive, and the log names each: what was dropped, what was kept, what needs a restart.
TEST(GatewaySignals, SighupLogsADroppedBackendKeepsAnAdminAddedOneAndNamesWhatNeedsARestart) {
  TestBackend a("a"), b("b"), c("c");
  GatewayOptions o;
  o.config = pool_toml({&a, &b});
  GatewayProcess gateway(o);
  ASSERT_EQ(gateway.admin("POST", "/backends", R"({"address":")" + c.address() + R"(","weight":1})").status, 201);

  gateway.rewrite_config(pool_toml({&a}) + "[timeouts]\nconnect_ms = 250\n");
  gateway.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return gateway.log().find("SIGHUP: reloaded") != std::string::npos; }, 10s))
      << "no reload summary in the log:\n" << gateway.log();
  std::string log = gateway.log();
  EXPECT_NE(log.find("dropped backends " + b.address()), std::string::npos) << log;
  EXPECT_NE(log.find("kept backends " + c.address() + " (added through the admin API"), std::string::npos) << log;
  EXPECT_NE(log.find("needs a restart (the running values stay): timeouts.connect_ms"), std::string::npos) << log;
  EXPECT_EQ(listed_ids(gateway), (std::set<std::string>{a.address(), c.address()}));
}

TEST(GatewaySignals, SigtermFinishesTheRequestInFlightThenExitsZero) {
  TestBackend a("a");
  GatewayOptions o;
  o.backends = {a.address()};
  o.extra_args = {"--drain-timeout-ms", "20000"};
  GatewayProcess gateway(o);

  // An idle keep-alive connection: the drain closes it.
  RawConnection idle(gateway.port());
  idle.send("GET / HTTP/1.1\r\nHost: gw\r\n\r\n");
  ASSERT_EQ(idle.read_response().status, 200);

  std::optional<HttpResponse> slow;
  std::string slow_error;
  std::jthread in_flight([&] {  // joins on every way out, a failed ASSERT too
    try {
      HttpClient client(gateway.port());
      slow = client.get("/slow?ms=1500");
    } catch (std::exception const& e) {
      slow_error = e.what();
    }
  });
  ASSERT_TRUE(wait_until([&] { return a.count("/slow") == 1; }, 10s)) << "the slow request never reached the backend";

  gateway.signal(SIGTERM);
  EXPECT_TRUE(wait_until([&] { return RawConnection::refused(gateway.port()); }, 5s))
      << "the listener was still open 5 s after SIGTERM";
  EXPECT_TRUE(idle.wait_closed(5s)) << "the idle keep-alive connection was not closed by the drain";
  EXPECT_TRUE(gateway.running()) << "the gateway exited with a request in flight";

  in_flight.join();
  EXPECT_EQ(slow_error, "") << "the request in flight was cut";
  ASSERT_TRUE(slow.has_value());
  EXPECT_EQ(slow->status, 200) << slow->body;
  EXPECT_EQ(slow->header("X-Served-By"), a.name());
  EXPECT_EQ(gateway.wait_exit(20'000), std::optional<int>(0)) << "no clean exit after the drain";
}

}  // namespace
}  // namespace outboard::testing
