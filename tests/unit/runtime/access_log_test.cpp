// runtime/access_log.hpp: the line's fields and the time format.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/access_log.hpp"

namespace outboard::runtime {
namespace {

TEST(AccessLog, TimeIsIso8601UtcWithMilliseconds) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601_utc(1'795'922'024'123), "2026-11-29T03:13:44.123Z");
  EXPECT_EQ(iso8601_utc(951'782'400'007), "2000-02-29T00:00:00.007Z");  // a leap day
  EXPECT_EQ(iso8601_utc(-1), "1969-12-31T23:59:59.999Z");
}

TEST(AccessLog, LineCarriesTheRouteTemplateAndTheClient) {
  AccessEntry e;
  e.time_ms = 1'795'922'024'123;
  e.instance = "shop-1";
  e.request_id = "r1";
  e.client = "203.0.113.7";
  e.method = "GET";
  e.path = "/orders/o-42";
  e.route = "/orders/{id}";
  e.status = 200;
  e.bytes = 17;
  e.seconds = 0.0025;
  auto line = nlohmann::json::parse(access_log_line(e));
  EXPECT_EQ(line["time"], "2026-11-29T03:13:44.123Z");
  EXPECT_EQ(line["route"], "/orders/{id}");
  EXPECT_EQ(line["path"], "/orders/o-42");
  EXPECT_EQ(line["client"], "203.0.113.7");
  EXPECT_EQ(line["method"], "GET");
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["bytes"], 17);
  EXPECT_DOUBLE_EQ(line["duration_ms"].get<double>(), 2.5);
  EXPECT_FALSE(line.contains("error"));
}

TEST(AccessLog, NoRouteIsNullAndARefusalNamesItsRule) {
  AccessEntry e;
  e.method = "GET";
  e.path = "/x";
  e.status = 400;
  e.error = "obs-fold";
  auto line = nlohmann::json::parse(access_log_line(e));
  EXPECT_TRUE(line["route"].is_null());
  EXPECT_EQ(line["error"], "obs-fold");
}

}  // namespace
}  // namespace outboard::runtime
